// What a core must do before a vCPU's first entry so the guest reads only reset values
// and nothing the core's previous VM left (issue 10 item 1; docs/vm-lifecycle.md "Reset
// state"): FP/SIMD/SVE/SME state zeroed, the PMU stopped and its counters and event
// selections reset; and when the core passes to another VM, the firmware's branch
// predictor workaround (SMCCC ARCH_WORKAROUND_1) where it offers one. The EL1 system
// registers (timers, thread registers, AFSRs...) come from the vCPU's reset El1Context.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::arm64 {

// Once, on the boot core: which of these the CPU and the firmware have; prints a line.
void core_reset_probe();
// On the vCPU's own core, right before its first entry.
void core_reset_for_vcpu(u16 vm_id);

} // namespace keel::arm64
