// Cores and events, every arch (reached through <arch/smp.hpp>): what the boot core
// needs to bring cores online and to wait for VM events.
#pragma once

#include "hypervisor/platform.hpp"
#include "hypervisor/types.hpp"

namespace keel::arch {

// False on an arch that cannot partition: the core then skips CPUs, pool and VMs.
[[nodiscard]] bool partitions_supported();
// Brings every enabled secondary CPU online; returns the mask of online cores.
u64 smp_start(const Platform& platform);
[[nodiscard]] u32 boot_cpu_index();
// Sleeps until some core calls send_event() (or a spurious wake-up).
void wait_for_event();
void send_event();
// Benchmark mode (`keel.bench`): whether the boot core may run a vCPU itself, so
// one-CPU machines can be measured; and, on the boot core, running the vCPU handed to
// it (returns when it stops).
[[nodiscard]] bool boot_core_runs_vcpus();
void run_local_work();

} // namespace keel::arch
