// EPT violations (SDM Vol. 3C 29.3.3.2, qualification 28.2.1 table 28-7): an access to
// the scratch MMIO window is emulated by fetching and decoding the faulting instruction
// (mmio_decode.hpp); any other guest-physical address outside RAM stops the VM with a
// report (x86 has no external-abort exception to inject; see docs/x86-vmx.md).
//
// The scratch device: kScratchSize bytes of registers that read back what was written
// (little-endian, any width, any alignment inside the window).
#include <string.h>

#include "exits.hpp"
#include "guest_mem.hpp"
#include "hypervisor/print.hpp"
#include "mmio_decode.hpp"
#include "vmcs.hpp"

namespace keel::vmx {
namespace {

using ull = unsigned long long;
constexpr u64 kRflagsDf = 1ull << 10;

CpuMode guest_mode() {
    const u32 cs_ar = vmread(VmcsField32::GuestCsAccessRights);
    if (vmread(VmcsField64::GuestIa32Efer) & (1ull << 10)) // LMA
        return (cs_ar & (1u << 13)) ? CpuMode::Long64 : CpuMode::Protected32;
    if (!(vmread(VmcsFieldNatural::GuestCr0) & 1)) return CpuMode::Real16;
    return CpuMode::Protected32; // 16-bit protected code (D=0) is not supported here
}

// Up to 15 bytes at the guest RIP (CS base is 0 in 64-bit mode and in our flat guests).
Result<usize> fetch(const Vm& vm, u8* out) {
    const u64 rip = vmread(VmcsFieldNatural::GuestRip) + vmread(VmcsFieldNatural::GuestCsBase);
    const bool paging = vmread(VmcsFieldNatural::GuestCr0) & (1ull << 31);
    usize got = 0;
    for (u64 la = rip; got < 15;) {
        u64 gpa = la;
        if (paging) {
            Result<u64> t = guest_linear_to_phys(vm, vmread(VmcsFieldNatural::GuestCr3), la);
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

} // namespace

ExitAction handle_ept_violation(Vm& vm, Vcpu& v) {
    const u64 gpa = vmread(VmcsField64::GuestPhysicalAddress);
    const EptViolation ev = decode_ept_violation(vmread(VmcsFieldNatural::ExitQualification));
    if (gpa < kScratchBase || gpa >= kScratchBase + kScratchSize || ev.fetch) {
        kprint("vm %u: EPT violation: %s at guest-physical %#llx (outside RAM and MMIO)\n", vm.id,
               ev.fetch   ? "instruction fetch"
               : ev.write ? "write"
                          : "read",
               static_cast<ull>(gpa));
        report_guest_state(vm, v, "access outside its memory");
        return ExitAction::Fault;
    }
    u8 bytes[15] = {};
    Result<usize> n = fetch(vm, bytes);
    Result<MmioInsn> d =
        n.ok() ? decode_mmio(bytes, n.value(), guest_mode()) : Result<MmioInsn>(n.status());
    const u64 off = gpa - kScratchBase;
    if (!d.ok() || off + d.value().width > kScratchSize) {
        report_guest_state(vm, v, "MMIO instruction not emulated");
        return ExitAction::Fault;
    }
    const MmioInsn& m = d.value();
    GuestRegs& r = v.regs;
    if (m.op == MmioOp::Load) {
        u64 value = 0;
        memcpy(&value, vm.arch.scratch + off, m.width);
        write_gpr(r, m.reg, mmio_load_result(m, read_gpr(r, m.reg), value));
    } else {
        const u64 value = mmio_store_value(m, read_gpr(r, m.reg == kNoRegister ? 0 : m.reg));
        memcpy(vm.arch.scratch + off, &value, m.width);
    }
    if (m.string) { // STOS: one element per exit; REP repeats the instruction (RIP stays)
        const bool down = vmread(VmcsFieldNatural::GuestRflags) & kRflagsDf;
        r.rdi += down ? -static_cast<u64>(m.width) : m.width;
        if (m.rep && --r.rcx != 0) return ExitAction::Resume;
    }
    vmwrite(VmcsFieldNatural::GuestRip, vmread(VmcsFieldNatural::GuestRip) + m.length);
    return ExitAction::Resume;
}

} // namespace keel::vmx
