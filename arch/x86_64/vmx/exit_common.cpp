// Helpers every exit handler uses: RIP advance, event injection, the shared handlers'
// view of the guest, and the guest-state report printed when a VM is stopped.
#include "exits.hpp"

#include "hypervisor/print.hpp"
#include "vmcs.hpp"

namespace keel::vmx {

using ull = unsigned long long;

void advance_rip() {
    vmwrite(VmcsFieldNatural::GuestRip,
            vmread(VmcsFieldNatural::GuestRip) + vmread(VmcsField32::ExitInstructionLength));
}

// VM-entry event injection (SDM Vol. 3C 27.6): the valid bit is cleared by the next exit.
void inject(EntryEvent e) {
    vmwrite(VmcsField32::EntryInterruptionInfo, e.encode());
    if (e.has_error_code) vmwrite(VmcsField32::EntryExceptionErrorCode, 0);
}

void inject_gp() {
    // An error code in protected/long mode only (27.2.1.3: none when CR0.PE is 0).
    const bool pe = vmread(VmcsFieldNatural::GuestCr0) & 1;
    inject(EntryEvent{13, EventType::HardwareException, pe});
}

GuestView guest_view() {
    const u32 cs_ar = vmread(VmcsField32::GuestCsAccessRights);
    const u64 efer = vmread(VmcsField64::GuestIa32Efer), cr0 = vmread(VmcsFieldNatural::GuestCr0);
    // CS.L (access rights bit 13) in IA-32e mode; 16-bit protected code is not supported.
    const CpuMode mode = (efer & x86::kEferLma)
                             ? ((cs_ar & (1u << 13)) ? CpuMode::Long64 : CpuMode::Protected32)
                         : !(cr0 & kCr0Pe) ? CpuMode::Real16
                                           : CpuMode::Protected32;
    return GuestView{vmread(VmcsFieldNatural::GuestRip),
                     vmread(VmcsFieldNatural::GuestRsp),
                     vmread(VmcsFieldNatural::GuestRflags),
                     cr0,
                     vmread(VmcsFieldNatural::GuestCr3),
                     vmread(VmcsFieldNatural::GuestCsBase),
                     efer,
                     mode};
}

void store_guest_view(const GuestView& g) {
    vmwrite(VmcsFieldNatural::GuestRip, g.rip);
    vmwrite(VmcsFieldNatural::GuestRsp, g.rsp);
    vmwrite(VmcsField64::GuestIa32Efer, g.efer);
}

void report_guest_state(const Vm& vm, const Vcpu& v, const char* what) {
    kprint("vm %u: %s: stopping the VM\n", vm.id, what);
    kprint("vm %u: RIP %#llx RSP %#llx RFLAGS %#llx CR0 %#llx CR3 %#llx CR4 %#llx EFER %#llx\n",
           vm.id, static_cast<ull>(vmread(VmcsFieldNatural::GuestRip)),
           static_cast<ull>(vmread(VmcsFieldNatural::GuestRsp)),
           static_cast<ull>(vmread(VmcsFieldNatural::GuestRflags)),
           static_cast<ull>(vmread(VmcsFieldNatural::GuestCr0)),
           static_cast<ull>(vmread(VmcsFieldNatural::GuestCr3)),
           static_cast<ull>(vmread(VmcsFieldNatural::GuestCr4)),
           static_cast<ull>(vmread(VmcsField64::GuestIa32Efer)));
    kprint(
        "vm %u: RAX %#llx RBX %#llx RCX %#llx RDX %#llx RSI %#llx RDI %#llx, qualification %#llx, "
        "guest-physical %#llx, IDT-vectoring %#x\n",
        vm.id, static_cast<ull>(v.regs.rax), static_cast<ull>(v.regs.rbx),
        static_cast<ull>(v.regs.rcx), static_cast<ull>(v.regs.rdx), static_cast<ull>(v.regs.rsi),
        static_cast<ull>(v.regs.rdi), static_cast<ull>(vmread(VmcsFieldNatural::ExitQualification)),
        static_cast<ull>(vmread(VmcsField64::GuestPhysicalAddress)),
        vmread(VmcsField32::IdtVectoringInfo));
}

} // namespace keel::vmx
