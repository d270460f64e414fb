// Per-CPU data for the arm64 cores Keel runs on: stack, identity, and the one vCPU
// slot the core's work loop waits on. Statically sized (no heap); the assembly entry
// reads `stack_top` with the MMU off (offset asserted in smp.cpp).
#pragma once

#include "hypervisor/platform.hpp"
#include "hypervisor/types.hpp"

namespace keel::arm64 {

struct Vcpu;

struct PerCpu {
    static constexpr u32 kMaxCpus = 8;
    u64 stack_top; // PERCPU_STACK_TOP: first thing secondary_entry loads
    u64 index;     // position in Platform::cpus (DTB /cpus order)
    u64 mpidr;
    u32 online;  // set by the core itself, atomic
    u16 last_vm; // the VM whose vCPU this core ran last (core_reset.cpp); 0: none yet
    u16 pad;
    Vcpu* work; // vCPU handed over by the boot core, atomic; null when idle
    u64 gicr;   // this core's GIC redistributor (RD_base), EL2-mapped
};

PerCpu& this_cpu();
PerCpu& cpu(u32 index);

// Live update's incoming image (docs/handover.md §4.5): every core the record says is
// online gets its PerCpu (no CPU_ON: each is already in this image) and the GIC is adopted,
// not re-initialised. Returns the boot core's index. Then, once the others are on their
// way, smp_adopt_boot_core() sets this core up for guests as smp_start() would.
u32 smp_adopt(const Platform& platform, u64 online);
void smp_adopt_boot_core();
// The PerCpu smp_adopt filled for the core with this MPIDR, or null.
PerCpu* cpu_by_mpidr(u64 mpidr);

} // namespace keel::arm64
