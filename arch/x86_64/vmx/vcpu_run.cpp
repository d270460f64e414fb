// A partition VM's vCPUs, one per core of `cpus:`: VMCS setup, the run loop, teardown
// (SDM Vol. 3C 25 "VMCS", 27 "VM entries", 28 "VM exits").
//
//   [vCPU n > 0: wait for the guest's SIPI (vapic.cpp)] -> VMCLEAR, VMPTRLD -> controls
//   -> bitmaps, EPTP, VPID -> host state -> 64-bit (vCPU 0) or real-mode guest state ->
//   INVEPT/INVVPID -> loop { VMLAUNCH/VMRESUME -> handle_exit } -> VMCLEAR, INVEPT/INVVPID,
//   XCR0 back -> the last core out reports the end (the VM manager then destroys the EPT
//   and scrubs the memory)
#include "../percpu.hpp"
#include "core_reset.hpp"
#include "exits.hpp"
#include "hypervisor/print.hpp"
#include <arch/smp.hpp>

#include "hypervisor/vm/vm.hpp"
#include "msr.hpp"
#include "vmcs_setup.hpp"

namespace keel::vmx {
namespace {

using ull = unsigned long long;
// The preemption timer counts down at the TSC rate >> IA32_VMX_MISC[4:0] (26.5.1): a
// few exits per million TSC ticks at most, per vCPU of a multi-vCPU VM.
constexpr u32 kPreemptionTicks = 0x40000;

// I/O bitmaps (25.6.4): every port exits. MSR bitmap (25.6.9): every MSR exits except
// the pass-through allow-list: reads of IA32_TSC, reads/writes of IA32_FS_BASE and
// IA32_GS_BASE (both are guest-state fields the CPU switches on entry and exit).
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
        pass(0x10, false);
        constexpr u32 kFsBase = 0xc0000100, kGsBase = 0xc0000101;
        pass(kFsBase, false), pass(kFsBase, true), pass(kGsBase, false), pass(kGsBase, true);
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
    u8* vmcs = s.vmcs[v.index];
    *reinterpret_cast<u32*>(vmcs) =
        static_cast<u32>(x86::rdmsr(x86::kMsrVmxBasic) & kBasicRevisionMask);
    const u64 pa = reinterpret_cast<u64>(vmcs);
    if (vmclear_insn(pa) != VmxResult::Ok || vmptrld_insn(pa) != VmxResult::Ok) {
        kprint("vm %u: VMCLEAR/VMPTRLD of %#llx failed\n", vm.id, static_cast<ull>(pa));
        return false;
    }
    vmcs_clear_failures();
    const bool bsp = v.index == 0, smp = s.vcpus > 1;
    const Controls c{
        kPinExternalInterruptExiting | kPinNmiExiting | (smp ? kPinPreemptionTimer : 0),
        kProcHltExiting | kProcUseIoBitmaps | kProcUseMsrBitmaps | kProcActivateSecondary,
        kProc2EnableEpt | kProc2EnableVpid | kProc2UnrestrictedGuest,
        kExitHostAddressSpaceSize | kExitSaveIa32Efer | kExitLoadIa32Efer,
        (bsp ? kEntryIa32eModeGuest : 0) | kEntryLoadIa32Efer};
    if (!setup_controls(c)) return false;
    vmwrite(VmcsField64::IoBitmapA, reinterpret_cast<u64>(g_bitmaps.io[0]));
    vmwrite(VmcsField64::IoBitmapB, reinterpret_cast<u64>(g_bitmaps.io[1]));
    vmwrite(VmcsField64::MsrBitmap, reinterpret_cast<u64>(g_bitmaps.msr));
    vmwrite(VmcsField32::ExceptionBitmap, 0); // the guest handles its own exceptions
    vmwrite(VmcsField64::EptPointer, s.eptp);
    vmwrite(VmcsField16::Vpid, vpid_of(vm, v));
    if (smp) vmwrite(VmcsField32::PreemptionTimerValue, kPreemptionTicks);
    setup_host_state();
    GuestRegs& r = v.regs;
    if (bsp) {
        const u64 top = vm.ram_ipa().raw() + vm.mem_size;
        setup_guest_long_mode(vm.ram_ipa().raw(), top - 4 * 4096, s.guest_cr3);
        // Test-guest boot registers (SysV argument order): VM id, RAM base, RAM size, mode.
        r.rdi = vm.id, r.rsi = vm.ram_ipa().raw(), r.rdx = vm.mem_size,
        r.rcx = static_cast<u64>(vm.image.raw_mode);
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
    return invept(kInvSingleContext, s.eptp) == VmxResult::Ok &&
           invvpid(kInvSingleContext, vpid_of(vm, v)) == VmxResult::Ok;
}

ExitAction run_loop(Vm& vm, VmContext& s, Vcpu& v) {
    for (u32 launched = 0;; launched = 1) {
        const auto rr = static_cast<RunResult>(vmx_run(&v.regs, launched));
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
        const ExitAction a = handle_exit(vm, v, why);
        if (a != ExitAction::Resume) return a;
        if (__atomic_load_n(&s.stop, __ATOMIC_ACQUIRE))
            return ExitAction::VcpuOff; // another vCPU ended it
    }
}

// An AP's core waits here for its SIPI (or for the VM to end without one).
bool wait_for_sipi(const VmContext& s, Vcpu& v) {
    for (;;) {
        if (__atomic_load_n(&v.run, __ATOMIC_ACQUIRE) == static_cast<u32>(VcpuRun::Starting))
            return true;
        if (__atomic_load_n(&s.stop, __ATOMIC_ACQUIRE)) return false;
        asm volatile("pause");
    }
}

// Records how a started vCPU ended: a power-off or fault ends the VM; so does the
// last started vCPU stopping.
void vcpu_ended(VmContext& s, Vcpu& v, ExitAction a) {
    __atomic_store_n(&v.run, static_cast<u32>(VcpuRun::Stopped), __ATOMIC_RELEASE);
    if (a == ExitAction::Fault) __atomic_store_n(&s.faulted, 1u, __ATOMIC_RELEASE);
    const bool last = __atomic_sub_fetch(&s.live, 1u, __ATOMIC_ACQ_REL) == 0;
    if (a != ExitAction::VcpuOff || last) __atomic_store_n(&s.stop, 1u, __ATOMIC_RELEASE);
}

// This core's part of the teardown: its VMCS is no longer active here (25.11.3), and
// its TLBs hold nothing of this VPID/EPTP. XCR0 back to x87-only, as at boot.
void core_teardown(const Vm& vm, VmContext& s, const Vcpu& v) {
    (void)vmclear_insn(reinterpret_cast<u64>(s.vmcs[v.index]));
    (void)invept(kInvSingleContext, s.eptp);
    (void)invvpid(kInvSingleContext, vpid_of(vm, v));
    if (v.xcr0 > 1) asm volatile("xsetbv" ::"c"(0u), "a"(1u), "d"(0u));
}

} // namespace

void vcpu_run_until_stopped(Vm& vm) {
    VmContext& s = vm.arch;
    const u32 core = x86::this_cpu().index;
    Vcpu& v = s.vcpu[__builtin_popcountll(vm.cpu_mask & ((1ull << core) - 1))];
    if (v.index == 0) {
        kprint("vm %u: vcpu 0 on cpu %u: 64-bit entry at %#llx, EPTP %#llx, VPID %u\n", vm.id, core,
               static_cast<ull>(vm.ram_ipa().raw()), static_cast<ull>(s.eptp), vpid_of(vm, v));
    }
    if (v.index == 0 || wait_for_sipi(s, v)) {
        if (v.index != 0) {
            kprint("vm %u: vcpu %u on cpu %u: real-mode entry at %04x:0000, VPID %u\n", vm.id,
                   v.index, core, v.sipi_vector << 8, vpid_of(vm, v));
            __atomic_store_n(&v.run, static_cast<u32>(VcpuRun::Running), __ATOMIC_RELEASE);
        }
        core_reset_for_vcpu(vm.id); // nothing of the core's previous VM stays readable
        const ExitAction a = setup_vmcs(vm, s, v) ? run_loop(vm, s, v) : ExitAction::Fault;
        vcpu_ended(s, v, a);
        core_teardown(vm, s, v);
    }
    if (__atomic_sub_fetch(&s.cores_active, 1u, __ATOMIC_ACQ_REL) != 0) return;
    // The last core out: no vCPU runs any more (each core invalidated its own EPT and VPID
    // entries); the manager destroys the EPT and frees the memory.
    vm.report_end(__atomic_load_n(&s.faulted, __ATOMIC_ACQUIRE)  ? VmEnd::Fault
                  : __atomic_load_n(&s.forced, __ATOMIC_ACQUIRE) ? VmEnd::ControllerStop
                                                                 : VmEnd::GuestPowerOff);
    arch::send_event();
}

} // namespace keel::vmx
