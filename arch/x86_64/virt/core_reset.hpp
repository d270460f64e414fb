// What a core does before a vCPU's first entry so the guest reads only reset values and
// nothing the core's previous VM left (issue 10 item 1; docs/vm-lifecycle.md "Reset
// state"): x87/SSE/AVX/AVX-512 state to its initial configuration, DR0-DR3 zero and DR6
// at its reset value (DR7 is the VMCS's); and when the core passes to another VM, the
// flushes the CPU enumerates: IBPB (IA32_PRED_CMD), L1D flush (IA32_FLUSH_CMD) and VERW
// (MD_CLEAR) (SDM Vol. 4 MSRs; Intel's "Deep Dive" mitigation guides).
#pragma once

#include "hypervisor/types.hpp"

namespace keel::virt {

// Once, on the boot core: what the CPU offers; prints a line.
void core_reset_probe();
// On the vCPU's own core, right before its first VM entry.
void core_reset_for_vcpu(u16 vm_id);

} // namespace keel::virt
