// Per-CPU data for the arm64 cores Keel runs on: stack, identity, and the one vCPU
// slot the core's work loop waits on. Statically sized (no heap); the assembly entry
// reads `stack_top` with the MMU off (offset asserted in smp.cpp).
#pragma once

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

} // namespace keel::arm64
