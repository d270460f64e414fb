// A vCPU's guest state between its VMCB and a live update's VcpuX86 record (docs/handover.md
// §2.2 VcpuX86, §5.1; AMD APM Vol. 2 appendix B). Pure logic: handover.cpp uses it on both
// sides, and the host tests check it against the APM's offsets.
#pragma once

#include "hypervisor/update/handover.hpp"
#include "vmcb.hpp"

namespace keel::svm {

// The guest state the record keeps (not RAX, which lives in Vcpu::regs between entries, nor
// the general registers and Keel's own per-vCPU fields: handover_vm.cpp fills those).
void vmcb_state_to_record(const Vmcb& c, update::VcpuX86Record& r);

// Whether a record's state is one Keel's SVM loop can leave in a VMCB and VMRUN accepts
// (15.5.1): EFER.SVME set, virtual interrupt masking on and no other interrupt-control bit than
// those Keel sets, the event to inject either none or valid without bits above 31 (Keel injects
// no error codes), the interrupt shadow 0 or 1.
[[nodiscard]] bool vmcb_record_valid(const update::VcpuX86Record& r);

// The record's guest state into a VMCB whose controls are set already (setup_controls): the
// state save area, the TSC offset, the event to inject, the interrupt control and shadow, the
// guest PAT (nested paging uses it: 15.25.8) and RAX; the CPL, which the record does not carry,
// from the architecture (0 in real mode, 3 in virtual-8086 mode, else SS.DPL: SDM Vol. 3A
// 5.5); and the intercepts a waiting state needs: VINTR while a virtual interrupt request waits
// for its window (15.21.4), IRET while an injected NMI's handler has not returned (`iret`).
void vmcb_state_from_record(const update::VcpuX86Record& r, bool iret, Vmcb& c);

} // namespace keel::svm
