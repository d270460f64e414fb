// What the core's VM manager needs from the arch. Both arches implement every function:
// arm64 in arch/arm64/ (vm_arch.cpp, smp.cpp, ...), x86_64 in arch/x86_64/ (smp.cpp,
// vmx/vm_arch.cpp; partitions_supported() is false there unless VMX is usable).
#pragma once

#include "hypervisor/boot_info.hpp"
#include "hypervisor/mm/frame_pool.hpp"
#include "hypervisor/platform.hpp"
#include "hypervisor/vm/vm.hpp"

namespace keel::arch {

// False on an arch that cannot partition yet: the core then skips CPUs, pool and VMs.
bool partitions_supported();
// Brings every enabled secondary CPU online; returns the mask of online cores.
u64 smp_start(const Platform& platform);
u32 boot_cpu_index();
// Zeroes pool memory through a transient mapping (the pool is otherwise unmapped).
mm::Scrubber& pool_scrubber();
// Builds the VM's stage-2 tables and loads its guest; runs on the boot core.
Status vm_create(Vm& vm);
// Hands vCPU 0 to vm.first_cpu; returns at once. When the VM ends, that core tears the
// arch state down and calls keel::vm_stopped().
Status vm_start(Vm& vm);
// Reserves the host memory a definition's guest sources occupy (Linux Image, initrd
// left in RAM by the loader) from the pool, before any VM gets memory.
Status vm_reserve_sources(const VmDef& def);
// Queues console input for a running VM's UART; returns the bytes taken.
usize vm_console_input(Vm& vm, const char* data, usize len);
void wait_for_event();
void send_event();
// Benchmark mode (`keel.bench` on the command line): whether the boot core may run a
// vCPU itself, so one-CPU machines can be measured with no idle core's polling in the
// count; and, on the boot core, running the vCPU handed to it (returns when it stops).
bool boot_core_runs_vcpus();
void run_local_work();

} // namespace keel::arch
