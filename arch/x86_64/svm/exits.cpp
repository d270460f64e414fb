// SVM exit handlers (AMD APM Vol. 2 15.8-15.13, appendix C): decode the exit code and
// its EXITINFO fields, call the shared policies (virt/exit_policy.hpp) and write back.
// Intercepted instructions exit before they execute with RIP at the instruction; without
// NRIPS the hypervisor fetches and decodes it to advance RIP (insn_length.hpp). Faults
// are injected through EVENTINJ with RIP unchanged.
#include "../apic.hpp"
#include "../virt/guest_rules.hpp"
#include "hypervisor/print.hpp"
#include "insn_length.hpp"
#include "svm.hpp"

namespace keel::svm {
namespace {

using ull = unsigned long long;
constexpr u64 kEferLma = 1ull << 10;
constexpr u16 kAttrL = 1u << 9; // CS.L in the VMCB's attribute format

GuestView view_of(const Vmcb& c) {
    const CpuMode mode = (c.efer & kEferLma)
                             ? ((c.cs.attrib & kAttrL) ? CpuMode::Long64 : CpuMode::Protected32)
                         : !(c.cr0 & kCr0Pe) ? CpuMode::Real16
                                             : CpuMode::Protected32;
    return GuestView{c.rip, c.rsp, c.rflags, c.cr0, c.cr3, c.cs.base, c.efer & ~kEferSvme, mode};
}

void store_view(Vmcb& c, const GuestView& g) {
    c.rip = g.rip;
    c.rsp = g.rsp;
    c.efer = g.efer | kEferSvme; // VMRUN refuses a guest without it (15.5.1)
}

void inject(Vmcb& c, EntryEvent e) { c.event_inject = e.encode(); } // error code 0 (63:32)

void inject_gp(Vmcb& c) {
    // An error code in protected/long mode only (none in real mode).
    inject(c, EntryEvent{13, EventType::HardwareException, (c.cr0 & kCr0Pe) != 0});
}

// Advances RIP past the intercepted instruction, decoded from guest memory.
bool advance(const Vm& vm, const Vcpu& v, Vmcb& c, Intercepted what) {
    const GuestView g = view_of(c);
    u8 bytes[15] = {};
    Result<usize> n = fetch_insn(vm, g, bytes);
    Result<u8> len =
        n.ok() ? intercepted_length(bytes, n.value(), g.mode, what) : Result<u8>(n.status());
    if (!len.ok()) {
        report_guest_state(vm, v, "intercepted instruction not found at RIP");
        return false;
    }
    c.rip += len.value();
    return true;
}

ExitAction resume_after(const Vm& vm, const Vcpu& v, Vmcb& c, Intercepted what) {
    return advance(vm, v, c, what) ? ExitAction::Resume : ExitAction::Fault;
}

ExitAction handle_msr(Vm& vm, Vcpu& v, Vmcb& c) {
    const bool write = c.exit_info1 == 1; // EXITINFO1: 0 RDMSR, 1 WRMSR (15.11)
    GuestView g = view_of(c);
    if (!msr_exit(vm, v, write, g)) {
        inject_gp(c);
        return ExitAction::Resume;
    }
    store_view(c, g);
    c.g_pat = v.pat; // nested paging uses the guest's PAT from the VMCB (15.25.8)
    return resume_after(vm, v, c, write ? Intercepted::Wrmsr : Intercepted::Rdmsr);
}

ExitAction handle_io(Vm& vm, Vcpu& v, Vmcb& c) {
    const IoInfo io = decode_io_info(c.exit_info1);
    if (io.string) {
        report_guest_state(vm, v, "string I/O (INS/OUTS) is not emulated");
        return ExitAction::Fault;
    }
    const ExitAction a = io_exit(vm, v, io.in, io.port, io.size);
    if (a == ExitAction::Resume) c.rip = c.exit_info2; // the next instruction's RIP (15.10.2)
    return a;
}

// HLT: woken by the one-shot test timer, its vector is injected after the HLT; woken by
// the local APIC, the next entry injects (run_loop).
ExitAction handle_hlt(Vm& vm, Vcpu& v, Vmcb& c) {
    const ExitAction a = hlt_exit(vm, v, (c.rflags & kRflagsIf) != 0);
    if (a != ExitAction::Resume) return a;
    if (!advance(vm, v, c, Intercepted::Hlt)) return ExitAction::Fault;
    c.int_state = 0; // HLT right after STI: no shadow now
    if (v.timer_fired) inject(c, EntryEvent{kTimerVector, EventType::ExternalInterrupt, false});
    return ExitAction::Resume;
}

// MOV to CR4 (intercepted: QEMU's SVM ends the guest with VMEXIT_INVALID on a reserved
// CR4 bit instead of raising #GP, so the check is Keel's): the shared policy, then the
// VMCB's CR4, and a flush of the guest's ASID (a CR4 write may change paging: SDM Vol. 3A
// 4.10.4.1, which VMRUN does not do by itself).
ExitAction handle_cr4_write(Vm& vm, Vcpu& v, Vmcb& c) {
    GuestView g = view_of(c);
    u8 bytes[15] = {};
    Result<usize> n = fetch_insn(vm, g, bytes);
    Result<CrWrite> w =
        n.ok() ? decode_cr4_write(bytes, n.value(), g.mode) : Result<CrWrite>(n.status());
    if (!w.ok()) {
        report_guest_state(vm, v, "CR4 write not found at RIP");
        return ExitAction::Fault;
    }
    u64 value = read_gpr(v.regs, g, w.value().gpr);
    if (g.mode != CpuMode::Long64) value &= 0xffffffff;
    if (!cr4_write_allowed(vm, value)) {
        inject_gp(c);
        return ExitAction::Resume;
    }
    c.cr4 = value;
    c.tlb_control = kTlbFlushAsid;
    c.rip += w.value().length;
    return ExitAction::Resume;
}

ExitAction handle_npf(Vm& vm, Vcpu& v, Vmcb& c) {
    const NpfInfo f = decode_npf_info(c.exit_info1);
    GuestView g = view_of(c);
    const ExitAction a =
        mmio_exit(vm, v, g, SecondStageFault{c.exit_info2, f.fetch, f.write, "nested page fault"},
                  report_guest_state);
    if (a == ExitAction::Resume) store_view(c, g);
    return a;
}

} // namespace

const char* exit_code_name(u64 code) {
    switch (static_cast<ExitCode>(code)) {
    case ExitCode::Intr: return "INTR";
    case ExitCode::Nmi: return "NMI";
    case ExitCode::Init: return "INIT";
    case ExitCode::Vintr: return "VINTR";
    case ExitCode::Pause: return "PAUSE";
    case ExitCode::Cpuid: return "CPUID";
    case ExitCode::Invd: return "INVD";
    case ExitCode::Hlt: return "HLT";
    case ExitCode::Invlpga: return "INVLPGA";
    case ExitCode::Ioio: return "IOIO";
    case ExitCode::Msr: return "MSR";
    case ExitCode::Shutdown: return "SHUTDOWN";
    case ExitCode::Vmrun: return "VMRUN";
    case ExitCode::Vmmcall: return "VMMCALL";
    case ExitCode::Vmload: return "VMLOAD";
    case ExitCode::Vmsave: return "VMSAVE";
    case ExitCode::Stgi: return "STGI";
    case ExitCode::Clgi: return "CLGI";
    case ExitCode::Skinit: return "SKINIT";
    case ExitCode::Xsetbv: return "XSETBV";
    case ExitCode::NestedPageFault: return "NPF";
    case ExitCode::Invalid: return "INVALID";
    default: return "?";
    }
}

ExitAction handle_exit(Vm& vm, Vcpu& v, Vmcb& c) {
    switch (static_cast<ExitCode>(c.exit_code)) {
    case ExitCode::Cpuid:
        cpuid_exit(vm, v, c.cr4);
        return resume_after(vm, v, c, Intercepted::Cpuid);
    case ExitCode::Msr: return handle_msr(vm, v, c);
    case ExitCode::Ioio: return handle_io(vm, v, c);
    case ExitCode::Xsetbv:
        if (!xsetbv_exit(vm, v)) {
            inject_gp(c);
            return ExitAction::Resume;
        }
        return resume_after(vm, v, c, Intercepted::Xsetbv);
    case ExitCode::Hlt: return handle_hlt(vm, v, c);
    case ExitCode::Vmmcall: {
        const ExitAction a = hypercall_exit(vm, v);
        return a == ExitAction::Resume ? resume_after(vm, v, c, Intercepted::Vmmcall) : a;
    }
    case ExitCode::NestedPageFault: return handle_npf(vm, v, c);
    case ExitCode::Cr4Write: return handle_cr4_write(vm, v, c);
    case ExitCode::Nmi: return ExitAction::Resume; // a host NMI: nothing to do yet
    case ExitCode::Vintr: // the guest can take an interrupt now: run_loop injects it
        c.int_control &= ~(kIntControlVIrq | kIntControlVIntrPrio | kIntControlVIgnTpr);
        c.intercept_misc1 &= ~kIntercept1Vintr;
        return ExitAction::Resume;
    case ExitCode::Pause: return resume_after(vm, v, c, Intercepted::Pause);
    case ExitCode::Iret: // before the NMI handler's IRET runs: it runs when the guest resumes
        c.intercept_misc1 &= ~kIntercept1Iret;
        v.nmi_iret = true;
        return ExitAction::Resume;
    case ExitCode::Intr:
        // The core's kick timer (the only interrupt a VM's core gets): taken and ended
        // here; the run loop then delivers whatever is due to the guest.
        ++v.external_interrupts;
        __atomic_fetch_add(&vm.stats.irq_exits, 1u, __ATOMIC_RELAXED);
        x86::apic_take_kick();
        return ExitAction::Resume;
    case ExitCode::Shutdown:
        report_guest_state(vm, v, "triple fault (shutdown)");
        return ExitAction::Fault;
    default: break;
    }
    kprint("vm %u: exit code %#llx (%s) not handled\n", vm.id, static_cast<ull>(c.exit_code),
           exit_code_name(c.exit_code));
    report_guest_state(vm, v, "unhandled exit");
    return ExitAction::Fault;
}

void report_guest_state(const Vm& vm, const Vcpu& v, const char* what) {
    const Vmcb& c = vmcb_of(vm.arch, v);
    kprint("vm %u: %s: stopping the VM\n", vm.id, what);
    kprint("vm %u: RIP %#llx RSP %#llx RFLAGS %#llx CR0 %#llx CR3 %#llx CR4 %#llx EFER %#llx\n",
           vm.id, static_cast<ull>(c.rip), static_cast<ull>(c.rsp), static_cast<ull>(c.rflags),
           static_cast<ull>(c.cr0), static_cast<ull>(c.cr3), static_cast<ull>(c.cr4),
           static_cast<ull>(c.efer));
    kprint("vm %u: RAX %#llx RBX %#llx RCX %#llx RDX %#llx RSI %#llx RDI %#llx, exit code %#llx "
           "(%s), EXITINFO1 %#llx, EXITINFO2 %#llx, EXITINTINFO %#llx\n",
           vm.id, static_cast<ull>(c.rax), static_cast<ull>(v.regs.rbx),
           static_cast<ull>(v.regs.rcx), static_cast<ull>(v.regs.rdx), static_cast<ull>(v.regs.rsi),
           static_cast<ull>(v.regs.rdi), static_cast<ull>(c.exit_code), exit_code_name(c.exit_code),
           static_cast<ull>(c.exit_info1), static_cast<ull>(c.exit_info2),
           static_cast<ull>(c.exit_int_info));
}

} // namespace keel::svm
