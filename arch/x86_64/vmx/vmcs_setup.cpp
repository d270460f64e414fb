// Filling a VMCS: execution/exit/entry controls from the capability MSRs, host state
// from the running hypervisor, and guest state for a real-mode guest run with
// "unrestricted guest" (SDM Vol. 3C 25.3-25.8, checks in 27.2-27.3).
#include "vmcs_setup.hpp"

#include "hypervisor/print.hpp"
#include "msr.hpp"
#include "vm_state.hpp"

namespace keel::vmx {
namespace {

using ull = unsigned long long;

// Sets one control word; names the word and the bits when a wanted one is impossible.
bool set_control(VmcsField32 field, const char* name, u32 true_msr, u32 legacy_msr, u32 wanted) {
    // SDM Vol. 3C A.2: the TRUE MSRs say which default-1 controls may be 0.
    const bool has_true = x86::rdmsr(x86::kMsrVmxBasic) & kBasicTrueControls;
    const u32 msr = (has_true && true_msr != 0) ? true_msr : legacy_msr;
    const ControlWord w = compute_control(x86::rdmsr(msr), wanted);
    if (w.forbidden != 0) {
        kprint("vmx: %s control bits %#x cannot be set (MSR %#x allows-1 only %#x)\n", name,
               w.forbidden, msr, static_cast<u32>(x86::rdmsr(msr) >> 32));
        return false;
    }
    vmwrite(field, w.value);
    return true;
}

struct DescriptorTableRegister {
    u16 limit;
    u64 base;
} __attribute__((packed));

u16 read_selector_cs() {
    u16 v;
    asm volatile("mov %%cs, %0" : "=r"(v));
    return v;
}
u16 read_selector_ss() {
    u16 v;
    asm volatile("mov %%ss, %0" : "=r"(v));
    return v;
}
u16 read_selector_ds() {
    u16 v;
    asm volatile("mov %%ds, %0" : "=r"(v));
    return v;
}
u16 read_selector_es() {
    u16 v;
    asm volatile("mov %%es, %0" : "=r"(v));
    return v;
}
u16 read_selector_tr() {
    u16 v;
    asm volatile("str %0" : "=r"(v));
    return v;
}

// Base of a 16-byte long-mode TSS descriptor (SDM Vol. 3A 8.2.3, figure 8-4).
u64 tss_base(u64 gdt, u16 selector) {
    const u64* d = reinterpret_cast<const u64*>(gdt + (selector & ~7u));
    return ((d[0] >> 16) & 0xffffff) | (((d[0] >> 56) & 0xff) << 24) | ((d[1] & 0xffffffff) << 32);
}

} // namespace

bool setup_controls(const Controls& c) {
    bool ok = set_control(VmcsField32::PinBasedControls, "pin-based VM-execution",
                          kMsrIa32VmxTruePinbasedCtls, kMsrIa32VmxPinbasedCtls, c.pin);
    ok = ok && set_control(VmcsField32::ProcBasedControls, "primary processor-based VM-execution",
                           kMsrIa32VmxTrueProcbasedCtls, kMsrIa32VmxProcbasedCtls, c.proc);
    // The secondary controls have no TRUE MSR (A.3.3).
    ok =
        ok && set_control(VmcsField32::ProcBasedControls2, "secondary processor-based VM-execution",
                          0, kMsrIa32VmxProcbasedCtls2, c.proc2);
    ok = ok && set_control(VmcsField32::ExitControls, "VM-exit", kMsrIa32VmxTrueExitCtls,
                           kMsrIa32VmxExitCtls, c.exit);
    ok = ok && set_control(VmcsField32::EntryControls, "VM-entry", kMsrIa32VmxTrueEntryCtls,
                           kMsrIa32VmxEntryCtls, c.entry);
    return ok;
}

void setup_host_state() {
    // Host state = the state the hypervisor runs in now (SDM Vol. 3C 25.5, checks 27.2.2).
    vmwrite(VmcsFieldNatural::HostCr0, x86::read_cr0());
    vmwrite(VmcsFieldNatural::HostCr3, x86::read_cr3());
    vmwrite(VmcsFieldNatural::HostCr4, x86::read_cr4());
    // Selector RPL and TI must be 0 (27.2.3): the hypervisor's GDT selectors are.
    vmwrite(VmcsField16::HostCsSelector, read_selector_cs());
    vmwrite(VmcsField16::HostSsSelector, read_selector_ss());
    vmwrite(VmcsField16::HostDsSelector, read_selector_ds());
    vmwrite(VmcsField16::HostEsSelector, read_selector_es());
    vmwrite(VmcsField16::HostFsSelector, 0);
    vmwrite(VmcsField16::HostGsSelector, 0);
    const u16 tr = read_selector_tr();
    vmwrite(VmcsField16::HostTrSelector, tr);
    DescriptorTableRegister gdtr{}, idtr{};
    asm volatile("sgdt %0" : "=m"(gdtr));
    asm volatile("sidt %0" : "=m"(idtr));
    vmwrite(VmcsFieldNatural::HostGdtrBase, gdtr.base);
    vmwrite(VmcsFieldNatural::HostIdtrBase, idtr.base);
    vmwrite(VmcsFieldNatural::HostTrBase, tss_base(gdtr.base, tr));
    vmwrite(VmcsFieldNatural::HostFsBase, x86::rdmsr(kMsrIa32FsBase));
    vmwrite(VmcsFieldNatural::HostGsBase, x86::rdmsr(kMsrIa32GsBase));
    vmwrite(VmcsField32::HostSysenterCs, static_cast<u32>(x86::rdmsr(kMsrIa32SysenterCs)));
    vmwrite(VmcsFieldNatural::HostSysenterEsp, x86::rdmsr(kMsrIa32SysenterEsp));
    vmwrite(VmcsFieldNatural::HostSysenterEip, x86::rdmsr(kMsrIa32SysenterEip));
    vmwrite(VmcsField64::HostIa32Efer, x86::rdmsr(x86::kMsrEfer));
    vmwrite(VmcsFieldNatural::HostRip, reinterpret_cast<u64>(vmx_exit_entry));
    // HOST_RSP is written by vmx_run on every entry.
}

void setup_guest_real_mode(u64 rip, u64 rsp) {
    // Real mode under "unrestricted guest" (SDM Vol. 3C 27.3.1.2): CR0.PE/PG may be 0,
    // segment access rights must still look like present accessed segments.
    // Access-rights format: 25.4.1 table 25-2 (type 3:0, S 4, DPL 6:5, P 7, unusable 16).
    constexpr u32 kArData = 0x93, kArCode = 0x9b, kArTss16Busy = 0x8b, kArUnusable = 1u << 16;
    const VmcsField16 sel[] = {VmcsField16::GuestEsSelector, VmcsField16::GuestCsSelector,
                               VmcsField16::GuestSsSelector, VmcsField16::GuestDsSelector,
                               VmcsField16::GuestFsSelector, VmcsField16::GuestGsSelector};
    const VmcsField32 lim[] = {VmcsField32::GuestEsLimit, VmcsField32::GuestCsLimit,
                               VmcsField32::GuestSsLimit, VmcsField32::GuestDsLimit,
                               VmcsField32::GuestFsLimit, VmcsField32::GuestGsLimit};
    const VmcsField32 ar[] = {VmcsField32::GuestEsAccessRights, VmcsField32::GuestCsAccessRights,
                              VmcsField32::GuestSsAccessRights, VmcsField32::GuestDsAccessRights,
                              VmcsField32::GuestFsAccessRights, VmcsField32::GuestGsAccessRights};
    const VmcsFieldNatural base[] = {VmcsFieldNatural::GuestEsBase, VmcsFieldNatural::GuestCsBase,
                                     VmcsFieldNatural::GuestSsBase, VmcsFieldNatural::GuestDsBase,
                                     VmcsFieldNatural::GuestFsBase, VmcsFieldNatural::GuestGsBase};
    for (int i = 0; i < 6; ++i) {
        vmwrite(sel[i], 0);
        vmwrite(lim[i], 0xffff);
        vmwrite(ar[i], i == 1 ? kArCode : kArData);
        vmwrite(base[i], 0);
    }
    vmwrite(VmcsField16::GuestLdtrSelector, 0);
    vmwrite(VmcsField32::GuestLdtrAccessRights, kArUnusable);
    vmwrite(VmcsField16::GuestTrSelector, 0);
    vmwrite(VmcsField32::GuestTrLimit, 0xffff);
    vmwrite(VmcsField32::GuestTrAccessRights, kArTss16Busy); // TR must be usable (27.3.1.2)
    vmwrite(VmcsFieldNatural::GuestTrBase, 0);
    vmwrite(VmcsFieldNatural::GuestGdtrBase, 0);
    vmwrite(VmcsField32::GuestGdtrLimit, 0xffff);
    vmwrite(VmcsFieldNatural::GuestIdtrBase, 0);
    vmwrite(VmcsField32::GuestIdtrLimit, 0x3ff); // the real-mode IVT

    // CR0: FIXED0 minus PE/PG (relaxed by unrestricted guest), i.e. NE (and ET).
    const u64 cr0 =
        (x86::rdmsr(kMsrIa32VmxCr0Fixed0) & ~(kCr0Pe | kCr0Pg) & x86::rdmsr(kMsrIa32VmxCr0Fixed1)) |
        (1u << 4);
    const u64 cr4 = x86::rdmsr(kMsrIa32VmxCr4Fixed0) & x86::rdmsr(kMsrIa32VmxCr4Fixed1);
    vmwrite(VmcsFieldNatural::GuestCr0, cr0);
    vmwrite(VmcsFieldNatural::GuestCr3, 0);
    vmwrite(VmcsFieldNatural::GuestCr4, cr4);
    // The guest reads CR0.NE and CR4.VMXE from the shadows: VMX stays invisible (25.6.6).
    vmwrite(VmcsFieldNatural::Cr0GuestHostMask, kCr0Ne);
    vmwrite(VmcsFieldNatural::Cr0ReadShadow, 1u << 4);
    vmwrite(VmcsFieldNatural::Cr4GuestHostMask, kCr4Vmxe);
    vmwrite(VmcsFieldNatural::Cr4ReadShadow, 0);
    vmwrite(VmcsFieldNatural::GuestDr7, 0x400);
    vmwrite(VmcsFieldNatural::GuestRsp, rsp);
    vmwrite(VmcsFieldNatural::GuestRip, rip);
    vmwrite(VmcsFieldNatural::GuestRflags, 0x2); // bit 1 is reserved-as-1
    vmwrite(VmcsFieldNatural::GuestPendingDebugExceptions, 0);
    vmwrite(VmcsFieldNatural::GuestSysenterEsp, 0);
    vmwrite(VmcsFieldNatural::GuestSysenterEip, 0);
    vmwrite(VmcsField32::GuestSysenterCs, 0);
    vmwrite(VmcsField32::GuestInterruptibilityState, 0);
    vmwrite(VmcsField32::GuestActivityState, 0); // active
    vmwrite(VmcsField64::GuestIa32Debugctl, 0);
    vmwrite(VmcsField64::GuestIa32Efer, 0);
    vmwrite(VmcsField64::VmcsLinkPointer, ~0ull); // no shadow VMCS (27.3.1.5)
}

void setup_guest_long_mode(const virt::BootState& b) {
    setup_guest_real_mode(b.rip, b.rsp); // the fields long mode leaves as real mode has them
    // Access rights (table 25-2): code 0xa09b = type 0xb, S, P, L, G; data 0xc093 = D/B, G.
    constexpr u32 kArCode64 = 0xa09b, kArData = 0xc093, kArTss64Busy = 0x8b;
    const VmcsField16 sel[] = {VmcsField16::GuestEsSelector, VmcsField16::GuestSsSelector,
                               VmcsField16::GuestDsSelector, VmcsField16::GuestFsSelector,
                               VmcsField16::GuestGsSelector};
    const VmcsField32 lim[] = {VmcsField32::GuestEsLimit, VmcsField32::GuestSsLimit,
                               VmcsField32::GuestDsLimit, VmcsField32::GuestFsLimit,
                               VmcsField32::GuestGsLimit};
    const VmcsField32 ar[] = {VmcsField32::GuestEsAccessRights, VmcsField32::GuestSsAccessRights,
                              VmcsField32::GuestDsAccessRights, VmcsField32::GuestFsAccessRights,
                              VmcsField32::GuestGsAccessRights};
    for (int i = 0; i < 5; ++i) {
        vmwrite(sel[i], b.ds);
        vmwrite(lim[i], 0xffffffff);
        vmwrite(ar[i], kArData);
    }
    vmwrite(VmcsField16::GuestCsSelector, b.cs);
    vmwrite(VmcsFieldNatural::GuestGdtrBase, b.gdt_base);
    vmwrite(VmcsField32::GuestGdtrLimit, b.gdt_limit);
    vmwrite(VmcsField32::GuestCsLimit, 0xffffffff);
    vmwrite(VmcsField32::GuestCsAccessRights, kArCode64);
    vmwrite(VmcsField32::GuestTrLimit, 0x67);
    vmwrite(VmcsField32::GuestTrAccessRights, kArTss64Busy); // 27.3.1.2: busy 64-bit TSS
    vmwrite(VmcsField32::GuestIdtrLimit, 0);
    // CR0 = PE MP ET NE WP PG; CR4 = PAE plus FIXED0 (VMXE). The shadows hide VMXE.
    constexpr u64 kCr0 = 0x80010033, kCr4Pae = 1u << 5;
    const u64 cr0 = (kCr0 | x86::rdmsr(kMsrIa32VmxCr0Fixed0)) & x86::rdmsr(kMsrIa32VmxCr0Fixed1);
    const u64 cr4 = (kCr4Pae | x86::rdmsr(kMsrIa32VmxCr4Fixed0)) & x86::rdmsr(kMsrIa32VmxCr4Fixed1);
    vmwrite(VmcsFieldNatural::GuestCr0, cr0);
    vmwrite(VmcsFieldNatural::GuestCr3, b.cr3);
    vmwrite(VmcsFieldNatural::GuestCr4, cr4);
    vmwrite(VmcsFieldNatural::Cr0ReadShadow, kCr0);
    vmwrite(VmcsFieldNatural::Cr4ReadShadow, kCr4Pae);
    vmwrite(VmcsField64::GuestIa32Efer, 0x500); // LME | LMA
}

} // namespace keel::vmx
