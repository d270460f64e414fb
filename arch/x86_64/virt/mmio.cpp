// Second-stage faults outside RAM (VMX EPT violations, SDM Vol. 3C 29.3.3.2; SVM nested
// page faults, APM Vol. 2 15.25.6): an access to the scratch MMIO window is emulated by
// fetching and decoding the faulting instruction (mmio_decode.hpp; neither backend gets
// the instruction from the CPU here: EPT violations give the address only, and QEMU's
// SVM has no decode assists); any other guest-physical address outside RAM stops the VM
// with a report (x86 has no external-abort exception to inject; see docs/x86-vmx.md).
//
// The scratch device: kScratchSize bytes of registers that read back what was written
// (little-endian, any width, any alignment inside the window).
#include <string.h>

#include "exit_policy.hpp"
#include "guest_mem.hpp"
#include "hypervisor/print.hpp"

namespace keel::virt {
namespace {

using ull = unsigned long long;

} // namespace

u64 read_gpr(const GuestRegs& r, const GuestView& g, u8 n) {
    switch (n) {
    case 0: return r.rax;
    case 1: return r.rcx;
    case 2: return r.rdx;
    case 3: return r.rbx;
    case 4: return g.rsp;
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

void write_gpr(GuestRegs& r, GuestView& g, u8 n, u64 v) {
    switch (n) {
    case 0: r.rax = v; break;
    case 1: r.rcx = v; break;
    case 2: r.rdx = v; break;
    case 3: r.rbx = v; break;
    case 4: g.rsp = v; break;
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

// Up to 15 bytes at the guest RIP (CS base is 0 in 64-bit mode and in our flat guests).
Result<usize> fetch_insn(const Vm& vm, const GuestView& g, u8* out) {
    const bool paging = g.cr0 & kCr0Pg;
    usize got = 0;
    for (u64 la = g.rip + g.cs_base; got < 15;) {
        u64 gpa = la;
        if (paging) {
            Result<u64> t = guest_linear_to_phys(vm, g.cr3, la);
            if (!t.ok()) break;
            gpa = t.value();
        }
        usize n = static_cast<usize>(4096 - (la & 4095));
        if (n > 15 - got) n = 15 - got;
        if (guest_read(vm, gpa, out + got, n) != Status::Ok) break;
        got += n;
        la += n;
    }
    if (got == 0) return Status::OutOfRange;
    return got;
}

ExitAction mmio_exit(Vm& vm, Vcpu& v, GuestView& g, const SecondStageFault& f,
                     void (*report)(const Vm&, const Vcpu&, const char*)) {
    const u64 gpa = f.gpa;
    if (gpa < kScratchBase || gpa >= kScratchBase + kScratchSize || f.fetch) {
        kprint("vm %u: %s: %s at guest-physical %#llx (outside RAM and MMIO)\n", vm.id, f.name,
               f.fetch   ? "instruction fetch"
               : f.write ? "write"
                         : "read",
               static_cast<ull>(gpa));
        report(vm, v, "access outside its memory");
        return ExitAction::Fault;
    }
    u8 bytes[15] = {};
    Result<usize> n = fetch_insn(vm, g, bytes);
    Result<MmioInsn> d =
        n.ok() ? decode_mmio(bytes, n.value(), g.mode) : Result<MmioInsn>(n.status());
    const u64 off = gpa - kScratchBase;
    if (!d.ok() || off + d.value().width > kScratchSize) {
        report(vm, v, "MMIO instruction not emulated");
        return ExitAction::Fault;
    }
    const MmioInsn& m = d.value();
    GuestRegs& r = v.regs;
    if (m.op == MmioOp::Load) {
        u64 value = 0;
        memcpy(&value, vm.arch.scratch + off, m.width);
        write_gpr(r, g, m.reg, mmio_load_result(m, read_gpr(r, g, m.reg), value));
    } else {
        const u64 value = mmio_store_value(m, read_gpr(r, g, m.reg == kNoRegister ? 0 : m.reg));
        memcpy(vm.arch.scratch + off, &value, m.width);
    }
    if (m.string) { // STOS: one element per exit; REP repeats the instruction (RIP stays)
        const bool down = g.rflags & kRflagsDf;
        r.rdi += down ? -static_cast<u64>(m.width) : m.width;
        if (m.rep && --r.rcx != 0) return ExitAction::Resume;
    }
    g.rip += m.length;
    return ExitAction::Resume;
}

} // namespace keel::virt
