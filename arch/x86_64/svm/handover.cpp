// A parked SVM vCPU's architectural state for the handover record (docs/handover.md §2.2
// VcpuX86, §5.1): read from its VMCB, which the world switch left whole in memory (clean
// bits 0: nothing cached between VMRUNs), on the boot core. RAX lives in Vcpu::regs between
// two entries (the run loop copies it in just before VMRUN), RSP in the VMCB. An adopting
// image builds the VMCB back: its own controls (setup_controls), the recorded guest state.
#include "svm.hpp"
#include "vmcb_state.hpp"

namespace keel::svm {

Status describe_vcpu(const Vm& vm, const Vcpu& v, update::VcpuX86Record& r) {
    vmcb_state_to_record(vmcb_of(vm.arch, v), r);
    return Status::Ok;
}

// Checked before the VMCB is touched; the IRET intercept while the NMI handler runs
// (nmi_blocked, its IRET not yet seen: vcpu_run.cpp).
Status adopt_vcpu(Vm& vm, Vcpu& v, const update::VcpuX86Record& r) {
    if (!vmcb_record_valid(r)) return Status::Corrupt;
    Vmcb& c = vmcb_of(vm.arch, v);
    setup_controls(vm, vm.arch, c);
    vmcb_state_from_record(r, r.nmi_blocked != 0 && r.nmi_iret == 0, c);
    return Status::Ok;
}

} // namespace keel::svm
