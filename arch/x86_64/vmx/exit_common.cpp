// Helpers every exit handler uses: RIP advance, event injection, GPR access by
// architectural number, and the guest-state report printed when a VM is stopped.
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

u64 read_gpr(const GuestRegs& r, u8 n) {
    switch (n) {
    case 0: return r.rax;
    case 1: return r.rcx;
    case 2: return r.rdx;
    case 3: return r.rbx;
    case 4: return vmread(VmcsFieldNatural::GuestRsp);
    case 5: return r.rbp;
    case 6: return r.rsi;
    case 7: return r.rdi;
    case 8: return r.r8;
    case 9: return r.r9;
    case 10: return r.r10;
    case 11: return r.r11;
    case 12: return r.r12;
    case 13: return r.r13;
    case 14: return r.r14;
    default: return r.r15;
    }
}

void write_gpr(GuestRegs& r, u8 n, u64 v) {
    switch (n) {
    case 0: r.rax = v; break;
    case 1: r.rcx = v; break;
    case 2: r.rdx = v; break;
    case 3: r.rbx = v; break;
    case 4: vmwrite(VmcsFieldNatural::GuestRsp, v); break;
    case 5: r.rbp = v; break;
    case 6: r.rsi = v; break;
    case 7: r.rdi = v; break;
    case 8: r.r8 = v; break;
    case 9: r.r9 = v; break;
    case 10: r.r10 = v; break;
    case 11: r.r11 = v; break;
    case 12: r.r12 = v; break;
    case 13: r.r13 = v; break;
    case 14: r.r14 = v; break;
    default: r.r15 = v; break;
    }
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
