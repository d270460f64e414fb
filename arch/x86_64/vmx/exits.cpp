// Exit handlers for partition VMs: decode once, switch on the reason (SDM Vol. 3C 26.1
// and 28.2 for what exits and what the VMCS reports); the policies are virt/'s. Instruction exits
// advance RIP by the VM-exit instruction length (25.9.4); faults are injected with RIP unchanged.
#include "exits.hpp"

#include "../apic.hpp"

#include "hypervisor/print.hpp"
#include "msr.hpp"
#include "vmcs.hpp"
#include "vmcs_setup.hpp"

namespace keel::vmx {
namespace {

constexpr u64 kCr4Vmxe = 1ull << 13, kCr0Ne = 1ull << 5;

void handle_cpuid(const Vm& vm, Vcpu& c) {
    cpuid_exit(vm, c, vmread(VmcsFieldNatural::GuestCr4));
    advance_rip();
}

void handle_msr(Vm& vm, Vcpu& v, bool write) {
    GuestView g = guest_view();
    if (!msr_exit(vm, v, write, g)) {
        inject_gp();
        return;
    }
    if (write) vmwrite(VmcsField64::GuestIa32Efer, g.efer);
    advance_rip();
}

// Port I/O (qualification: SDM Vol. 3C 28.2.1 table 28-5). String I/O stops the VM.
ExitAction handle_io(Vm& vm, Vcpu& v) {
    const IoQualification q = decode_io_qualification(vmread(VmcsFieldNatural::ExitQualification));
    if (q.string) {
        report_guest_state(vm, v, "string I/O (INS/OUTS) is not emulated");
        return ExitAction::Fault;
    }
    const ExitAction a = io_exit(vm, v, q.in, q.port, q.size);
    if (a == ExitAction::Resume) advance_rip();
    return a;
}

// MOV to CR0/CR4 of a bit the guest/host masks own (25.6.6: CR0.NE, CR4.VMXE). The
// guest may not enable VMX (#GP, as on a CPU without it); CR0.NE stays 1 underneath.
ExitAction handle_cr(Vm& vm, Vcpu& v) {
    const CrQualification q = decode_cr_qualification(vmread(VmcsFieldNatural::ExitQualification));
    if (q.type != CrAccessType::MovToCr || (q.cr != 0 && q.cr != 4)) {
        report_guest_state(vm, v, "unexpected control-register access");
        return ExitAction::Fault;
    }
    const u64 value = read_gpr(v.regs, guest_view(), q.gpr);
    if (q.cr == 4) {
        if (!cr4_write_allowed(vm, value)) {
            inject_gp();
            return ExitAction::Resume;
        }
        vmwrite(VmcsFieldNatural::GuestCr4, value | kCr4Vmxe);
        vmwrite(VmcsFieldNatural::Cr4ReadShadow, value);
    } else {
        vmwrite(VmcsFieldNatural::GuestCr0, value | kCr0Ne);
        vmwrite(VmcsFieldNatural::Cr0ReadShadow, value);
    }
    advance_rip();
    return ExitAction::Resume;
}

void handle_xsetbv(Vm& vm, Vcpu& v) {
    if (!xsetbv_exit(vm, v)) {
        inject_gp();
        return;
    }
    advance_rip();
}

// HLT: woken by the one-shot timer, the timer vector is injected after the HLT.
ExitAction handle_hlt(Vm& vm, Vcpu& v) {
    const bool interrupts = vmread(VmcsFieldNatural::GuestRflags) & kRflagsIf;
    const ExitAction a = hlt_exit(vm, v, interrupts);
    if (a != ExitAction::Resume) return a;
    advance_rip();
    vmwrite(VmcsField32::GuestInterruptibilityState, 0); // HLT right after STI: no shadow now
    if (v.timer_fired) inject(EntryEvent{kTimerVector, EventType::ExternalInterrupt, false});
    return ExitAction::Resume;
}

ExitAction handle_vmcall(Vm& vm, Vcpu& v) {
    const ExitAction a = hypercall_exit(vm, v);
    if (a == ExitAction::Resume) advance_rip();
    return a;
}

// EPT violations (qualification: table 28-7) outside RAM: the shared MMIO emulation.
ExitAction handle_ept_violation(Vm& vm, Vcpu& v) {
    const EptViolation ev = decode_ept_violation(vmread(VmcsFieldNatural::ExitQualification));
    GuestView g = guest_view();
    const ExitAction a = mmio_exit(vm, v, g,
                                   SecondStageFault{vmread(VmcsField64::GuestPhysicalAddress),
                                                    ev.fetch, ev.write, "EPT violation"},
                                   report_guest_state);
    if (a == ExitAction::Resume) store_guest_view(g);
    return a;
}

} // namespace

// entry.S's constants (it cannot include C++ headers).
static_assert(static_cast<u32>(VmcsField32::ExitReason) == 0x4402 &&
              static_cast<u32>(VmcsField32::ExitInstructionLength) == 0x440c &&
              static_cast<u32>(VmcsFieldNatural::GuestRip) == 0x681e);
static_assert(static_cast<u32>(ExitReason::Cpuid) == 10 &&
              static_cast<u32>(ExitReason::Vmcall) == 18 && static_cast<u32>(Hypercall::Null) == 0);

void fast_path_setup(Vm& vm, Vcpu& v) {
    GuestRegs& r = v.regs;
    const x86::CpuidRegs l0 = filtered_cpuid(vm, v.index, 0, 0); // leaf 0 ignores ECX
    r.cpuid0[0] = l0.eax, r.cpuid0[1] = l0.ebx, r.cpuid0[2] = l0.ecx, r.cpuid0[3] = l0.edx;
    r.fast_hypercalls = &vm.stats.hypercalls;
    r.fast_stop = &vm.arch.stop;
}

ExitAction handle_exit(Vm& vm, Vcpu& v, ExitReasonField why) {
    switch (why.basic) {
    case ExitReason::Cpuid: handle_cpuid(vm, v); return ExitAction::Resume;
    case ExitReason::Rdmsr: handle_msr(vm, v, false); return ExitAction::Resume;
    case ExitReason::Wrmsr: handle_msr(vm, v, true); return ExitAction::Resume;
    case ExitReason::IoInstruction: return handle_io(vm, v);
    case ExitReason::CrAccess: return handle_cr(vm, v);
    case ExitReason::Xsetbv: handle_xsetbv(vm, v); return ExitAction::Resume;
    case ExitReason::Hlt: return handle_hlt(vm, v);
    case ExitReason::Vmcall: return handle_vmcall(vm, v);
    case ExitReason::EptViolation: return handle_ept_violation(vm, v);
    case ExitReason::ExceptionOrNmi: return ExitAction::Resume; // a host NMI: nothing to do yet
    case ExitReason::PreemptionTimer:
        return ExitAction::Resume; // the run loop checks for a VM stop
    case ExitReason::ExternalInterrupt:
        // The core's kick timer (the only interrupt a VM's core gets; "acknowledge
        // interrupt on exit" is off, so it is still pending in the APIC): taken and ended
        // here; the run loop then delivers whatever is due to the guest.
        ++v.external_interrupts;
        __atomic_fetch_add(&vm.stats.irq_exits, 1u, __ATOMIC_RELAXED);
        x86::apic_take_kick();
        return ExitAction::Resume;
    case ExitReason::NmiWindow: // the guest's NMI handler has returned: run_loop injects
        vmwrite(VmcsField32::ProcBasedControls,
                vmread(VmcsField32::ProcBasedControls) & ~kProcNmiWindowExiting);
        return ExitAction::Resume;
    case ExitReason::InterruptWindow: // the guest can take an interrupt now: run_loop injects
        vmwrite(VmcsField32::ProcBasedControls,
                vmread(VmcsField32::ProcBasedControls) & ~kProcInterruptWindowExiting);
        return ExitAction::Resume;
    case ExitReason::TripleFault:
        report_guest_state(vm, v, "triple fault (shutdown)");
        return ExitAction::Fault;
    case ExitReason::EptMisconfig:
        report_guest_state(vm, v, "EPT misconfiguration (a hypervisor bug)");
        return ExitAction::Fault;
    default: break;
    }
    kprint("vm %u: exit reason %u (%s) not handled\n", vm.id, static_cast<u32>(why.basic),
           exit_reason_name(why.basic));
    report_guest_state(vm, v, "unhandled exit");
    return ExitAction::Fault;
}

} // namespace keel::vmx
