// A parked SVM vCPU's architectural state for the handover record (docs/handover.md §2.2
// VcpuX86, §5.1): read from its VMCB, which the world switch left whole in memory (clean
// bits 0: nothing cached between VMRUNs), on the boot core. RAX lives in Vcpu::regs between
// two entries (the run loop copies it in just before VMRUN), RSP in the VMCB.
#include "svm.hpp"

namespace keel::svm {
namespace {

update::X86Segment seg(const VmcbSegment& s) { return {s.selector, s.attrib, s.limit, s.base}; }

} // namespace

Status describe_vcpu(const Vm& vm, const Vcpu& v, update::VcpuX86Record& r) {
    const Vmcb& c = vmcb_of(vm.arch, v);
    r.rsp = c.rsp;
    r.rip = c.rip, r.rflags = c.rflags;
    r.cr0 = c.cr0, r.cr2 = c.cr2, r.cr3 = c.cr3, r.cr4 = c.cr4;
    r.efer = c.efer, r.dr6 = c.dr6, r.dr7 = c.dr7;
    r.es = seg(c.es), r.cs = seg(c.cs), r.ss = seg(c.ss), r.ds = seg(c.ds);
    r.fs = seg(c.fs), r.gs = seg(c.gs), r.ldtr = seg(c.ldtr), r.tr = seg(c.tr);
    r.gdtr = seg(c.gdtr), r.idtr = seg(c.idtr);
    r.star = c.star, r.lstar = c.lstar, r.cstar = c.cstar, r.sfmask = c.sfmask;
    r.kernel_gs_base = c.kernel_gs_base;
    r.sysenter_cs = c.sysenter_cs, r.sysenter_esp = c.sysenter_esp;
    r.sysenter_eip = c.sysenter_eip;
    r.tsc_offset = c.tsc_offset;
    r.event_inject = c.event_inject;
    r.int_control = c.int_control;
    r.int_shadow = static_cast<u32>(c.int_state & 1);
    return Status::Ok;
}

} // namespace keel::svm
