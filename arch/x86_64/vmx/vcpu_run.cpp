// A partition VM's vCPU under VT-x (virt/vcpu_run.cpp runs it): VMCS setup, the run loop,
// teardown (SDM Vol. 3C 25 "VMCS", 27 "VM entries", 28 "VM exits").
//
//   VMCLEAR, VMPTRLD -> controls -> bitmaps, EPTP, VPID -> host state -> 64-bit (vCPU 0)
//   or real-mode guest state -> INVEPT/INVVPID -> loop { VMLAUNCH/VMRESUME -> handle_exit }
//   -> VMCLEAR, INVEPT/INVVPID
#include "../apic.hpp"
#include "../paging.hpp"
#include "../percpu.hpp"
#include "../virt/backend.hpp"
#include "exits.hpp"
#include "hypervisor/print.hpp"
#include <arch/smp.hpp>

#include "hypervisor/vm/vm.hpp"
#include "msr.hpp"
#include "vmcs_setup.hpp"
#include "vmx.hpp"

namespace keel::vmx {
namespace {

using ull = unsigned long long;
// The preemption timer counts down at the TSC rate >> IA32_VMX_MISC[4:0] (26.5.1): a
// few exits per million TSC ticks at most, per vCPU of a multi-vCPU VM.
constexpr u32 kPreemptionTicks = 0x40000;

// I/O bitmaps (25.6.4): every port exits. MSR bitmap (25.6.9): every MSR exits except
// virt::kPassThroughMsrs (FS/GS base are guest-state fields the CPU switches).
struct Bitmaps {
    alignas(4096) u8 io[2][4096];
    alignas(4096) u8 msr[4096];
    constexpr void pass(u32 msr_index, bool write) {
        const u32 base = (msr_index >= 0xc0000000 ? 1024 : 0) + (write ? 2048 : 0);
        const u32 n = msr_index & 0x1fff;
        msr[base + n / 8] = static_cast<u8>(msr[base + n / 8] & ~(1u << (n % 8)));
    }
    constexpr Bitmaps() : io{}, msr{} {
        for (auto& page : io)
            for (u8& b : page)
                b = 0xff;
        for (u8& b : msr)
            b = 0xff;
        for (const PassThroughMsr& m : kPassThroughMsrs)
            pass(m.msr, m.write);
    }
};
constinit Bitmaps g_bitmaps;

// VPID per vCPU (28.1: 0 is the host's): vCPU 0 keeps the VM id, vCPU n adds n * kMaxVms.
u16 vpid_of(const Vm& vm, const Vcpu& v) { return static_cast<u16>(vm.id + Vm::kMaxVms * v.index); }

// vCPU 0 enters in 64-bit mode at the start of RAM; a vCPU started by SIPI enters in
// real mode at vector:0000 (SDM Vol. 3A 9.4.4.1; 27.3.1.1 allows it with "unrestricted
// guest", which also lets the guest turn PE/PG on itself). Multi-vCPU VMs also arm the
// VMX-preemption timer (25.6.1, 26.5.1) so that a vCPU sees another's power-off soon.
bool setup_vmcs(Vm& vm, VmContext& s, Vcpu& v) {
    u8* vmcs = s.control[v.index];
    *reinterpret_cast<u32*>(vmcs) =
        static_cast<u32>(x86::rdmsr(x86::kMsrVmxBasic) & kBasicRevisionMask);
    const u64 pa = reinterpret_cast<u64>(vmcs);
    if (vmclear_insn(pa) != VmxResult::Ok || vmptrld_insn(pa) != VmxResult::Ok) {
        kprint("vm %u: VMCLEAR/VMPTRLD of %#llx failed\n", vm.id, static_cast<ull>(pa));
        return false;
    }
    vmcs_clear_failures();
    const bool bsp = v.index == 0, smp = s.vcpus > 1;
    const Controls c{kPinExternalInterruptExiting | kPinNmiExiting | kPinVirtualNmis |
                         (smp ? kPinPreemptionTimer : 0),
                     kProcHltExiting | kProcUseIoBitmaps | kProcUseMsrBitmaps |
                         kProcActivateSecondary,
                     kProc2EnableEpt | kProc2EnableVpid | kProc2UnrestrictedGuest,
                     kExitHostAddressSpaceSize | kExitSaveIa32Efer | kExitLoadIa32Efer,
                     (bsp ? kEntryIa32eModeGuest : 0) | kEntryLoadIa32Efer};
    if (!setup_controls(c)) return false;
    vmwrite(VmcsField64::IoBitmapA, reinterpret_cast<u64>(g_bitmaps.io[0]));
    vmwrite(VmcsField64::IoBitmapB, reinterpret_cast<u64>(g_bitmaps.io[1]));
    vmwrite(VmcsField64::MsrBitmap, reinterpret_cast<u64>(g_bitmaps.msr));
    vmwrite(VmcsField32::ExceptionBitmap, 0); // the guest handles its own exceptions
    vmwrite(VmcsField64::EptPointer, s.stage2);
    vmwrite(VmcsField16::Vpid, vpid_of(vm, v));
    if (smp) vmwrite(VmcsField32::PreemptionTimerValue, kPreemptionTicks);
    setup_host_state();
    GuestRegs& r = v.regs;
    if (bsp) {
        const virt::BootState& b = s.boot;
        setup_guest_long_mode(b);
        r.rdi = b.rdi, r.rsi = b.rsi, r.rdx = b.rdx, r.rcx = b.rcx;
    } else {
        setup_guest_real_mode(0, 0);
        vmwrite(VmcsField16::GuestCsSelector, static_cast<u16>(v.sipi_vector << 8));
        vmwrite(VmcsFieldNatural::GuestCsBase, static_cast<u64>(v.sipi_vector) << 12);
        r.rdx = x86::cpuid(1, 0).eax; // EDX after INIT: the processor signature (9.1.4)
    }
    if (vmcs_write_failed()) return false;
    fast_path_setup(vm, v);
    v.pat = 0x0007040600070406ull; // power-on default (SDM Vol. 3A 13.12.4)
    v.xcr0 = 1;
    // Nothing may be cached for this EPTP/VPID from an earlier VM (28.3.3.4).
    return invept(kInvSingleContext, s.stage2) == VmxResult::Ok &&
           invvpid(kInvSingleContext, vpid_of(vm, v)) == VmxResult::Ok;
}

// Guest interruptibility state (SDM Vol. 3C 25.4.2 table 25-3): blocking by STI, by MOV SS,
// by NMI.
constexpr u32 kBlockingSti = 1u << 0, kBlockingMovSs = 1u << 1, kBlockingNmi = 1u << 3;

// The local APIC's next event into the VM-entry interruption-information field (27.6),
// unless an event is already there (being delivered again, or a fault an exit handler
// injected). An interrupt the guest cannot take yet (RFLAGS.IF clear, or an STI/MOV SS
// shadow: 27.3.1.5 forbids injecting it then) asks for an interrupt-window exit (25.6.2,
// 26.7.5), which comes as soon as it can. An NMI waits while the guest blocks NMIs or sits
// in a shadow, with an NMI-window exit asked for. "Virtual NMIs" is on (25.6.1): with NMI
// exiting alone the guest's IRET would never lift the blocking an injected NMI sets (26.3),
// and every later NMI would wait for ever; with it, IRET lifts virtual-NMI blocking.
void inject_pending(Vm& vm, Vcpu& v) {
    if (vmread(VmcsField32::EntryInterruptionInfo) & (1u << 31)) return;
    const u32 blocking = vmread(VmcsField32::GuestInterruptibilityState);
    const bool interruptible = (vmread(VmcsFieldNatural::GuestRflags) & kRflagsIf) &&
                               !(blocking & (kBlockingSti | kBlockingMovSs));
    const bool nmi_ok = !(blocking & (kBlockingSti | kBlockingMovSs | kBlockingNmi));
    const Injection j = next_injection(vm, v, interruptible, nmi_ok);
    switch (j.kind) {
    case InjectKind::Nmi: inject(EntryEvent{2, EventType::Nmi, false}); break;
    case InjectKind::Interrupt:
        inject(EntryEvent{j.vector, EventType::ExternalInterrupt, false});
        break;
    case InjectKind::Window:
        vmwrite(VmcsField32::ProcBasedControls,
                vmread(VmcsField32::ProcBasedControls) | kProcInterruptWindowExiting);
        break;
    case InjectKind::None: break;
    }
    if (!nmi_ok && __atomic_load_n(&v.nmi_pending, __ATOMIC_ACQUIRE))
        vmwrite(VmcsField32::ProcBasedControls,
                vmread(VmcsField32::ProcBasedControls) | kProcNmiWindowExiting);
}

// An event whose delivery an exit interrupted (IDT-vectoring information, 28.2.4) is
// injected again at the next entry, with its error code and, for software events, the
// instruction length (28.2.4, 27.6.1.1).
void redeliver_vectoring() {
    const u32 info = vmread(VmcsField32::IdtVectoringInfo);
    if (!(info & (1u << 31))) return;
    vmwrite(VmcsField32::EntryInterruptionInfo, info & ~(1u << 12)); // bit 12 is not an entry field
    if (info & (1u << 11))
        vmwrite(VmcsField32::EntryExceptionErrorCode, vmread(VmcsField32::IdtVectoringErrorCode));
    const u32 type = (info >> 8) & 7;
    if (type == 4 || type == 5 || type == 6) // software interrupt, privileged / software exception
        vmwrite(VmcsField32::EntryInstructionLength, vmread(VmcsField32::ExitInstructionLength));
}

// Every guest-physical and combined mapping of every EPTP (INVEPT type 2, all-context;
// SDM Vol. 3C 29.4.3.1): a second-stage mapping of this core's VM went.
void invept_all() {
    const struct { u64 eptp, reserved; } desc{0, 0};
    asm volatile("invept %0, %1" ::"m"(desc), "r"(u64{2}) : "memory", "cc");
}

ExitAction run_loop(Vm& vm, VmContext& s, Vcpu& v) {
    for (u32 launched = 0;; launched = 1) {
        inject_pending(vm, v);
        arm_kick(v);
        if (enter_guest(s, v)) invept_all(); // a mapping went meanwhile
        const auto rr = static_cast<RunResult>(vmx_run(&v.regs, launched));
        left_guest(v);
        if (rr != RunResult::Exited) {
            const u32 e = rr == RunResult::FailValid ? vmread(VmcsField32::VmInstructionError) : 0;
            kprint("vm %u: %s failed: %s, VM-instruction error %u (%s)\n", vm.id,
                   launched ? "VMRESUME" : "VMLAUNCH",
                   rr == RunResult::FailValid ? "VMfailValid" : "VMfailInvalid", e,
                   instruction_error_name(e));
            return ExitAction::Fault;
        }
        __atomic_fetch_add(&vm.stats.exits, 1u, __ATOMIC_RELAXED);
        const ExitReasonField why = decode_exit_reason(vmread(VmcsField32::ExitReason));
        if (why.entry_failure) {
            const u64 q = vmread(VmcsFieldNatural::ExitQualification);
            kprint("vm %u: VM-entry failure: exit reason %u (%s), qualification %llu (%s)\n", vm.id,
                   static_cast<u32>(why.basic), exit_reason_name(why.basic), static_cast<ull>(q),
                   entry_failure_qualification_name(q));
            return ExitAction::Fault;
        }
        x86::tlb_catch_up(); // before exit handling touches any host mapping (paging.hpp)
        redeliver_vectoring();
        const ExitAction a = handle_exit(vm, v, why);
        if (a != ExitAction::Resume) return a;
        if (__atomic_load_n(&s.stop, __ATOMIC_ACQUIRE))
            return ExitAction::VcpuOff; // another vCPU ended it
    }
}

ExitAction run_vcpu(Vm& vm, Vcpu& v) {
    VmContext& s = vm.arch;
    if (!setup_vmcs(vm, s, v)) return ExitAction::Fault;
    v.first_entry_tsc = __builtin_ia32_rdtsc();
    const ExitAction a = run_loop(vm, s, v);
    x86::apic_kick_at(0);
    return a;
}

// This core's part of the teardown: its VMCS is no longer active here (25.11.3), and
// its TLBs hold nothing of this VPID/EPTP.
void vcpu_teardown(const Vm& vm, Vcpu& v) {
    (void)vmclear_insn(reinterpret_cast<u64>(vm.arch.control[v.index]));
    (void)invept(kInvSingleContext, vm.arch.stage2);
    (void)invvpid(kInvSingleContext, vpid_of(vm, v));
}

u32 tag_of(const Vm& vm, const Vcpu& v) { return vpid_of(vm, v); }

// A VMCS is readable only on the core it is current on: not described yet, nor built from a
// record (docs/handover.md §5.1).
Status describe_vcpu(const Vm&, const Vcpu&, update::VcpuX86Record&) { return Status::Unsupported; }
Status adopt_vcpu(Vm&, Vcpu&, const update::VcpuX86Record&) { return Status::Unsupported; }

} // namespace

const virt::BackendOps kBackend{"EPTP",   "VPID",        enable,        tag_of,
                                run_vcpu, vcpu_teardown, describe_vcpu, adopt_vcpu};

} // namespace keel::vmx
