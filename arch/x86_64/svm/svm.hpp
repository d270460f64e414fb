// AMD SVM with nested paging for x86_64 partitions (see README.md; AMD APM Vol. 2
// chapter 15). The VM-facing functions are virt/backend.hpp's; these are the backend's own.
#pragma once

#include "../virt/exit_policy.hpp"
#include "vmcb.hpp"

namespace keel::svm {

using namespace keel::virt;

// EFER.SVME and VM_HSAVE_PA on this CPU (enable.cpp; virt::enable_cpu calls it).
Status enable(u32 slot, bool report);
// This CPU slot's page for the host's VMSAVE/VMLOAD state (enable.cpp).
u64 host_state_pa(u32 slot);
inline Vmcb& vmcb_of(VmContext& s, const Vcpu& v) {
    return *reinterpret_cast<Vmcb*>(s.control[v.index]);
}
inline const Vmcb& vmcb_of(const VmContext& s, const Vcpu& v) {
    return *reinterpret_cast<const Vmcb*>(s.control[v.index]);
}
// One exit (exits.cpp), with the vCPU's VMCB as the CPU left it.
ExitAction handle_exit(Vm& vm, Vcpu& v, Vmcb& c);
// The VMCB zeroed, then Keel's intercepts, maps, ASID and nested paging (vcpu_run.cpp).
void setup_controls(const Vm& vm, const VmContext& s, Vmcb& c);
// A parked vCPU's state from its VMCB into the handover record, and an adopting image's
// VMCB from such a record (handover.cpp).
Status describe_vcpu(const Vm& vm, const Vcpu& v, update::VcpuX86Record& r);
Status adopt_vcpu(Vm& vm, Vcpu& v, const update::VcpuX86Record& r);
// Prints the guest state for a VM that is stopped because of `what`.
void report_guest_state(const Vm& vm, const Vcpu& v, const char* what);

} // namespace keel::svm

// The world switch (entry.S): VMSAVE host, VMLOAD guest, VMRUN, VMSAVE guest, VMLOAD host.
extern "C" void svm_run(keel::virt::GuestRegs* regs, keel::u64 vmcb_pa, keel::u64 host_state_pa);
