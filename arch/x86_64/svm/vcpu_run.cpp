// A partition VM's vCPU under AMD SVM with nested paging (virt/vcpu_run.cpp runs it): the
// VMCB, the permission maps, the run loop (AMD APM Vol. 2 15.5-15.6, appendix B).
//
//   VMCB zeroed -> intercepts, IOPM/MSRPM, ASID + TLB flush, NP_ENABLE + nCR3, G_PAT ->
//   64-bit (vCPU 0) or real-mode (SIPI) guest state -> loop { svm_run -> handle_exit }
//
// ASIDs (15.16): ASID 0 is the host's. A VM's vCPUs take ASID 1 + (VM id - 1) mod
// (ASIDs - 1) (CPUID 0x8000000A EBX), and each vCPU's first VMRUN flushes that ASID's TLB
// entries on its core (TLB_CONTROL 3): whatever an earlier VM left under the same ASID on
// that core is gone before the guest runs, so sharing an ASID is never a leak. The NPT
// does not change while the VM runs, so no later flush is needed.
#include <string.h>

#include "../apic.hpp"
#include "../paging.hpp"
#include "../percpu.hpp"
#include "../tsc.hpp"
#include "../virt/backend.hpp"
#include "../virt/guest_rules.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/vm/vm.hpp"
#include "svm.hpp"

namespace keel::svm {
namespace {

using ull = unsigned long long;

// IOPM (15.10.1): one bit per port, 12 KiB, every port intercepted. MSRPM (15.11): two
// bits per MSR (read, write) for 0-0x1FFF, 0xC0000000-0xC0001FFF, 0xC0010000-0xC0011FFF;
// every MSR intercepted but virt::kPassThroughMsrs, as VMX's MSR bitmap.
struct PermissionMaps {
    alignas(4096) u8 iopm[3 * 4096];
    alignas(4096) u8 msrpm[2 * 4096];
    constexpr void pass(u32 msr, bool write) {
        const u32 base = msr >= 0xc0010000 ? 0x1000u : msr >= 0xc0000000 ? 0x800u : 0u;
        const u32 bit = 2 * (msr & 0x1fff) + (write ? 1 : 0);
        msrpm[base + bit / 8] = static_cast<u8>(msrpm[base + bit / 8] & ~(1u << (bit % 8)));
    }
    constexpr PermissionMaps() : iopm{}, msrpm{} {
        for (u8& b : iopm)
            b = 0xff;
        for (u8& b : msrpm)
            b = 0xff;
        for (const PassThroughMsr& m : kPassThroughMsrs)
            pass(m.msr, m.write);
    }
};
constinit PermissionMaps g_maps;

constexpr u64 kPatPowerOn = 0x0007040600070406ull; // SDM Vol. 3A 13.12.4, APM Vol. 2 7.8.2
constexpr u64 kEferLme = 1ull << 8, kEferLma = 1ull << 10;
// Segment attributes (table B-2 note): type 3:0, S 4, DPL 6:5, P 7, L 9, D/B 10, G 11.
constexpr u16 kAttrCode64 = 0xa9b, kAttrData = 0xc93, kAttrTss64Busy = 0x8b, kAttrRealCode = 0x9b,
              kAttrRealData = 0x93, kAttrLdt = 0x82;

u32 asid_of(const Vm& vm) {
    const u32 asids = x86::cpuid(0x8000000a).ebx; // QEMU TCG: 16
    return asids > 1 ? 1 + (vm.id - 1u) % (asids - 1) : 1;
}

void seg(VmcbSegment& s, u16 selector, u16 attrib, u32 limit, u64 base) {
    s = VmcbSegment{selector, attrib, limit, base};
}

struct DataSegments {
    VmcbSegment* s[5];
    VmcbSegment* const* begin() const { return s; }
    VmcbSegment* const* end() const { return s + 5; }
};
DataSegments data_segments(Vmcb& c) { return DataSegments{{&c.es, &c.ss, &c.ds, &c.fs, &c.gs}}; }

} // namespace

// The VMCB zeroed, then what Keel controls: intercepts, permission maps, ASID and a flush of
// its TLB entries on the first VMRUN, nested paging; the guest state is the caller's.
void setup_controls(const Vm& vm, const VmContext& s, Vmcb& c) {
    memset(&c, 0, sizeof c);
    c.intercept_cr = kInterceptCr4Write;
    // PAUSE exits so that a guest spinning on a lock or a deadline lets Keel deliver its
    // timer and IPIs (nothing else interrupts a busy guest under SVM here).
    c.intercept_misc1 = kIntercept1Intr | kIntercept1Nmi | kIntercept1Init | kIntercept1Cpuid |
                        kIntercept1Invd | kIntercept1Hlt | kIntercept1Invlpga | kIntercept1Ioio |
                        kIntercept1Msr | kIntercept1Shutdown | kIntercept1Pause;
    // Every SVM instruction exits (VMRUN must: 15.5.1), and XSETBV for its validation.
    c.intercept_misc2 = kIntercept2Vmrun | kIntercept2Vmmcall | kIntercept2Vmload |
                        kIntercept2Vmsave | kIntercept2Stgi | kIntercept2Clgi | kIntercept2Skinit |
                        kIntercept2Xsetbv;
    c.iopm_base = reinterpret_cast<u64>(g_maps.iopm); // identity mapped: address = physical
    c.msrpm_base = reinterpret_cast<u64>(g_maps.msrpm);
    c.guest_asid = asid_of(vm);
    c.tlb_control = kTlbFlushAsid;
    // Physical interrupts are the host's (its RFLAGS.IF, 15.21.1), never the guest's IF.
    c.int_control = kIntControlVIntrMasking;
    c.nested_control = kNestedEnable;
    c.nested_cr3 = s.stage2;
}

namespace {

// vCPU 0 enters in 64-bit mode with the state vm_prepare chose (VmContext::boot); a vCPU
// started by SIPI in real mode at vector:0000 (SDM Vol. 3A 9.4.4.1), which nested paging
// allows (15.25.3: the guest may run with paging off).
void setup_vmcb(Vm& vm, VmContext& s, Vcpu& v) {
    Vmcb& c = vmcb_of(s, v);
    setup_controls(vm, s, c);
    c.g_pat = kPatPowerOn;
    c.dr7 = 0x400;
    c.dr6 = 0xffff0ff0;
    c.rflags = 0x2;
    GuestRegs& r = v.regs;
    if (v.index == 0) {
        const BootState& b = s.boot;
        seg(c.cs, b.cs, kAttrCode64, 0xffffffff, 0);
        for (VmcbSegment* d : data_segments(c))
            seg(*d, b.ds, kAttrData, 0xffffffff, 0);
        seg(c.gdtr, 0, 0, b.gdt_limit, b.gdt_base);
        seg(c.idtr, 0, 0, 0, 0);
        seg(c.ldtr, 0, kAttrLdt, 0, 0);
        seg(c.tr, 0, kAttrTss64Busy, 0x67, 0);
        c.cr0 = 0x80010033; // PE MP ET NE WP PG
        c.cr3 = b.cr3;
        c.cr4 = 1u << 5; // PAE
        c.efer = kEferLme | kEferLma | kEferSvme;
        c.rip = b.rip;
        c.rsp = b.rsp;
        r.rdi = b.rdi, r.rsi = b.rsi, r.rdx = b.rdx, r.rcx = b.rcx;
    } else {
        seg(c.cs, static_cast<u16>(v.sipi_vector << 8), kAttrRealCode, 0xffff,
            static_cast<u64>(v.sipi_vector) << 12);
        for (VmcbSegment* d : data_segments(c))
            seg(*d, 0, kAttrRealData, 0xffff, 0);
        seg(c.gdtr, 0, 0, 0xffff, 0);
        seg(c.idtr, 0, 0, 0x3ff, 0); // the real-mode IVT
        seg(c.ldtr, 0, kAttrLdt, 0xffff, 0);
        seg(c.tr, 0, kAttrTss64Busy, 0xffff, 0);
        c.cr0 = 1u << 4;              // ET; PE and PG clear
        c.efer = kEferSvme;           // the guest sees EFER 0 (exits.cpp hides SVME)
        r.rdx = x86::cpuid(1, 0).eax; // EDX after INIT: the processor signature (9.1.4)
    }
    v.pat = kPatPowerOn;
    v.xcr0 = 1;
}

// The local APIC's next event into EVENTINJ (15.20), unless an event is being delivered
// again; with an interrupt the guest cannot take yet (RFLAGS.IF clear, or an STI/MOV SS
// shadow), a virtual interrupt request whose VINTR intercept exits once it can (15.21.4).
// An NMI is held while the guest runs the handler of the last one (SDM Vol. 3A 6.7.1: NMIs
// are blocked until the next IRET): the IRET intercept (15.9) says when that IRET comes.
void inject_pending(Vm& vm, Vcpu& v, Vmcb& c) {
    if (c.event_inject & (1ull << 31)) return;
    const bool interruptible = (c.rflags & kRflagsIf) && !(c.int_state & 1);
    const bool nmi_ok = !v.nmi_blocked && !(c.int_state & 1);
    const Injection j = next_injection(vm, v, interruptible, nmi_ok);
    switch (j.kind) {
    case InjectKind::Nmi:
        c.event_inject = EntryEvent{2, EventType::Nmi, false}.encode();
        v.nmi_blocked = true;
        c.intercept_misc1 |= kIntercept1Iret;
        break;
    case InjectKind::Interrupt:
        c.event_inject = EntryEvent{j.vector, EventType::ExternalInterrupt, false}.encode();
        break;
    case InjectKind::Window:
        c.int_control |= kIntControlVIrq | kIntControlVIntrPrio | kIntControlVIgnTpr;
        c.intercept_misc1 |= kIntercept1Vintr;
        break;
    case InjectKind::None: break;
    }
}

ExitAction run_loop(Vm& vm, VmContext& s, Vcpu& v) {
    Vmcb& c = vmcb_of(s, v);
    const u64 host_state = host_state_pa(x86::this_cpu().slot);
    for (;;) {
        inject_pending(vm, v, c);
        arm_kick(v);
        if (enter_guest(s, v)) c.tlb_control = kTlbFlushAsid; // a mapping went meanwhile
        c.rax = v.regs.rax;
        svm_run(&v.regs, reinterpret_cast<u64>(&c), host_state);
        left_guest(v);
        v.regs.rax = c.rax;
        c.tlb_control = kTlbNothing; // the flush asked for has been done
        __atomic_fetch_add(&vm.stats.exits, 1u, __ATOMIC_RELAXED);
        x86::tlb_catch_up(); // before exit handling touches any host mapping (paging.hpp)
        if (c.exit_code == static_cast<u64>(ExitCode::Invalid)) {
            report_guest_state(vm, v, "VMRUN refused the guest state (VMEXIT_INVALID)");
            return ExitAction::Fault;
        }
        // An event whose delivery the exit interrupted is delivered again (15.7.2).
        c.event_inject = (c.exit_int_info >> 31) & 1 ? c.exit_int_info : 0;
        if (v.nmi_iret) v.nmi_iret = v.nmi_blocked = false; // the NMI handler's IRET has run
        const ExitAction a = handle_exit(vm, v, c);
        if (a != ExitAction::Resume) return a;
        if (__atomic_load_n(&s.stop, __ATOMIC_ACQUIRE))
            return ExitAction::VcpuOff; // another vCPU ended it
    }
}

ExitAction run_vcpu(Vm& vm, Vcpu& v) {
    VmContext& s = vm.arch;
    if (v.adopted) {
        v.adopted = false; // its VMCB came from the live update's record (handover.cpp)
    } else {
        setup_vmcb(vm, s, v);
        v.first_entry_tsc = __builtin_ia32_rdtsc();
    }
    const ExitAction a = run_loop(vm, s, v);
    x86::apic_kick_at(0);
    return a;
}

// Nothing to undo on the core: the VMCB is not cached between VMRUNs (clean bits 0), and
// the ASID's TLB entries are flushed by the next vCPU that enters with it (above).
void vcpu_teardown(const Vm&, Vcpu&) {}

u32 tag_of(const Vm& vm, const Vcpu&) { return asid_of(vm); }

} // namespace

const virt::BackendOps kBackend{"nCR3",   "ASID",        enable,        tag_of,
                                run_vcpu, vcpu_teardown, describe_vcpu, adopt_vcpu};

} // namespace keel::svm
