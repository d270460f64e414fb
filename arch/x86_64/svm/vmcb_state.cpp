// vmcb_state.hpp: field by field, both ways.
#include "vmcb_state.hpp"

namespace keel::svm {
namespace {

update::X86Segment seg(const VmcbSegment& s) { return {s.selector, s.attrib, s.limit, s.base}; }
VmcbSegment seg(const update::X86Segment& s) { return {s.selector, s.attrib, s.limit, s.base}; }

constexpr u64 kCr0Pe = 1ull << 0, kRflagsVm = 1ull << 17;

} // namespace

void vmcb_state_to_record(const Vmcb& c, update::VcpuX86Record& r) {
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
}

bool vmcb_record_valid(const update::VcpuX86Record& r) {
    constexpr u64 kIntControlMine =
        kIntControlVIntrMasking | kIntControlVIrq | kIntControlVIntrPrio | kIntControlVIgnTpr;
    return (r.efer & kEferSvme) != 0 && (r.int_control & kIntControlVIntrMasking) != 0 &&
           (r.int_control & ~kIntControlMine) == 0 && (r.event_inject >> 32) == 0 &&
           (r.event_inject == 0 || (r.event_inject >> 31 & 1) != 0) && r.int_shadow <= 1;
}

void vmcb_state_from_record(const update::VcpuX86Record& r, bool iret, Vmcb& c) {
    c.rsp = r.rsp;
    c.rip = r.rip, c.rflags = r.rflags;
    c.cr0 = r.cr0, c.cr2 = r.cr2, c.cr3 = r.cr3, c.cr4 = r.cr4;
    c.efer = r.efer, c.dr6 = r.dr6, c.dr7 = r.dr7;
    c.es = seg(r.es), c.cs = seg(r.cs), c.ss = seg(r.ss), c.ds = seg(r.ds);
    c.fs = seg(r.fs), c.gs = seg(r.gs), c.ldtr = seg(r.ldtr), c.tr = seg(r.tr);
    c.gdtr = seg(r.gdtr), c.idtr = seg(r.idtr);
    c.star = r.star, c.lstar = r.lstar, c.cstar = r.cstar, c.sfmask = r.sfmask;
    c.kernel_gs_base = r.kernel_gs_base;
    c.sysenter_cs = r.sysenter_cs, c.sysenter_esp = r.sysenter_esp;
    c.sysenter_eip = r.sysenter_eip;
    c.tsc_offset = r.tsc_offset;
    c.event_inject = r.event_inject;
    c.int_control = r.int_control;
    c.int_state = r.int_shadow;
    c.g_pat = r.pat;
    c.rax = r.rax;
    const bool real = (r.cr0 & kCr0Pe) == 0, v86 = !real && (r.rflags & kRflagsVm) != 0;
    c.cpl = static_cast<u8>(real ? 0 : v86 ? 3 : (r.ss.attrib >> 5) & 3);
    if ((r.int_control & kIntControlVIrq) != 0) c.intercept_misc1 |= kIntercept1Vintr;
    if (iret) c.intercept_misc1 |= kIntercept1Iret;
}

} // namespace keel::svm
