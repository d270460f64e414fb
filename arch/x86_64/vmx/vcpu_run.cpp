// One partition VM's vCPU on its own core: VMCS setup, the run loop, teardown
// (SDM Vol. 3C 25 "VMCS", 27 "VM entries", 28 "VM exits").
//
//   VMCLEAR, VMPTRLD -> controls -> bitmaps, EPTP, VPID -> host state -> 64-bit guest
//   state -> INVEPT/INVVPID -> loop { VMLAUNCH/VMRESUME -> handle_exit } -> VMCLEAR,
//   INVEPT/INVVPID, XCR0 back, EPT destroyed -> keel::vm_stopped (scrubs the memory)
#include <string.h>

#include "exits.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/vm/vm_manager.hpp"
#include "msr.hpp"
#include "vmcs_setup.hpp"


namespace keel::vmx {
namespace {

using ull = unsigned long long;

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
            for (u8& b : page) b = 0xff;
        for (u8& b : msr) b = 0xff;
        pass(0x10, false);
        constexpr u32 kFsBase = 0xc0000100, kGsBase = 0xc0000101;
        pass(kFsBase, false), pass(kFsBase, true), pass(kGsBase, false), pass(kGsBase, true);
    }
};
constinit Bitmaps g_bitmaps;

bool setup_vmcs(Vm& vm, VmSlot& s) {
    *reinterpret_cast<u32*>(s.vmcs) = static_cast<u32>(x86::rdmsr(x86::kMsrVmxBasic) & kBasicRevisionMask);
    const u64 pa = reinterpret_cast<u64>(s.vmcs);
    if (vmclear_insn(pa) != VmxResult::Ok || vmptrld_insn(pa) != VmxResult::Ok) {
        kprint("vm %u: VMCLEAR/VMPTRLD of %#llx failed\n", vm.id, static_cast<ull>(pa));
        return false;
    }
    vmcs_clear_failures();
    const Controls c{kPinExternalInterruptExiting | kPinNmiExiting,
                     kProcHltExiting | kProcUseIoBitmaps | kProcUseMsrBitmaps | kProcActivateSecondary,
                     kProc2EnableEpt | kProc2EnableVpid | kProc2UnrestrictedGuest,
                     kExitHostAddressSpaceSize | kExitSaveIa32Efer | kExitLoadIa32Efer,
                     kEntryIa32eModeGuest | kEntryLoadIa32Efer};
    if (!setup_controls(c)) return false;
    vmwrite(VmcsField64::IoBitmapA, reinterpret_cast<u64>(g_bitmaps.io[0]));
    vmwrite(VmcsField64::IoBitmapB, reinterpret_cast<u64>(g_bitmaps.io[1]));
    vmwrite(VmcsField64::MsrBitmap, reinterpret_cast<u64>(g_bitmaps.msr));
    vmwrite(VmcsField32::ExceptionBitmap, 0); // the guest handles its own exceptions
    vmwrite(VmcsField64::EptPointer, s.eptp);
    vmwrite(VmcsField16::Vpid, vm.id); // VPID 0 is the host's (28.1)
    setup_host_state();
    const u64 top = vm.ram_ipa().raw() + vm.mem_size;
    setup_guest_long_mode(vm.ram_ipa().raw(), top - 4 * 4096, s.guest_cr3);
    if (vmcs_write_failed()) return false;
    // Test-guest boot registers (SysV argument order): VM id, RAM base, RAM size, mode.
    GuestRegs& r = s.vcpu.regs;
    r.rdi = vm.id, r.rsi = vm.ram_ipa().raw(), r.rdx = vm.mem_size, r.rcx = static_cast<u64>(vm.def.mode);
    s.vcpu.pat = 0x0007040600070406ull; // power-on default (SDM Vol. 3A 13.12.4)
    s.vcpu.xcr0 = 1;
    // Nothing may be cached for this EPTP/VPID from an earlier VM (28.3.3.4).
    return invept(kInvSingleContext, s.eptp) == VmxResult::Ok &&
           invvpid(kInvSingleContext, vm.id) == VmxResult::Ok;
}

ExitAction run_loop(Vm& vm, Vcpu& v) {
    for (u32 launched = 0;; launched = 1) {
        const auto rr = static_cast<RunResult>(vmx_run(&v.regs, launched));
        if (rr != RunResult::Exited) {
            const u32 e = rr == RunResult::FailValid ? vmread(VmcsField32::VmInstructionError) : 0;
            kprint("vm %u: %s failed: %s, VM-instruction error %u (%s)\n", vm.id,
                   launched ? "VMRESUME" : "VMLAUNCH",
                   rr == RunResult::FailValid ? "VMfailValid" : "VMfailInvalid", e, instruction_error_name(e));
            return ExitAction::Fault;
        }
        ++vm.stats.exits;
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
    }
}

void teardown(Vm& vm, VmSlot& s) {
    (void)vmclear_insn(reinterpret_cast<u64>(s.vmcs)); // no longer active on this core (25.11.3)
    (void)invept(kInvSingleContext, s.eptp);
    (void)invvpid(kInvSingleContext, vm.id);
    if (s.vcpu.xcr0 != 1) asm volatile("xsetbv" ::"c"(0u), "a"(1u), "d"(0u)); // x87 only, as at boot
    (void)s.ept.unmap(vm.ram_ipa(), vm.mem_size);
    s.ept.destroy();
}

} // namespace

void vcpu_run_until_stopped(Vm& vm) {
    VmSlot& s = vm_slot(vm);
    kprint("vm %u: vcpu 0 on cpu %u: 64-bit entry at %#llx, EPTP %#llx, VPID %u\n", vm.id, vm.first_cpu,
           static_cast<ull>(vm.ram_ipa().raw()), static_cast<ull>(s.eptp), vm.id);
    const ExitAction a = setup_vmcs(vm, s) ? run_loop(vm, s.vcpu) : ExitAction::Fault;
    teardown(vm, s);
    vm_stopped(vm, a == ExitAction::PowerOff ? VmEnd::GuestPowerOff : VmEnd::Fault);
}

} // namespace keel::vmx
