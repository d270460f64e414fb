// The MSR allow-list and the CR4 and XCR0 checks. The MSR allow-list beyond the bitmaps'
// pass-through (VMX MSR bitmap, SVM MSR permission map: reads of IA32_TSC, IA32_FS_BASE and
// IA32_GS_BASE), and XSETBV validation: emulated IA32_PAT, IA32_EFER (SCE/NXE writable, LME only
// while CR0.PG is 0: SDM Vol. 3A 10.8.5), IA32_MISC_ENABLE reads, the x2APIC (vapic.cpp). Anything
// else: #GP.
#include "exit_policy.hpp"
#include "guest_rules.hpp"
#include "hypervisor/print.hpp"

namespace keel::virt {
namespace {

using ull = unsigned long long;

constexpr u32 kMsrPat = 0x277, kMsrMiscEnable = 0x1a0, kMsrEfer = 0xc0000080;
constexpr u64 kEferLme = 1ull << 8, kEferLma = 1ull << 10;
constexpr u64 kEferWritable = (1ull << 0) | kEferLme | (1ull << 11); // SCE, LME, NXE

// PAT entries must be valid memory types: 0, 1, 4, 5, 6, 7 (SDM Vol. 3A 13.12.2).
bool pat_valid(u64 v) {
    for (int i = 0; i < 8; ++i) {
        const u64 t = (v >> (8 * i)) & 0xff;
        if (t == 2 || t == 3 || t > 7) return false;
    }
    return true;
}

// MSRs with one value: the microcode revision (SDM Vol. 3A 10.11.7: 0, nothing loaded),
// IA32_MTRRCAP (no variable or fixed ranges) and IA32_MTRR_DEF_TYPE (MTRRs enabled, all
// memory write-back: 11.11.2.1), AMD's SYSCFG (APM Vol. 2 7.9.1: nothing enabled) and
// interrupt-pending message register (0xc0010055: no C1E).
struct FixedMsr {
    u32 msr;
    u64 value;
};
constexpr FixedMsr kFixedMsrs[] = {
    {0x8b, 0}, {0xfe, 0}, {0x2ff, (1u << 11) | 6}, {0xc0010010, 0}, {0xc0010055, 0}};

const FixedMsr* fixed_msr(u32 msr) {
    for (const FixedMsr& f : kFixedMsrs)
        if (f.msr == msr) return &f;
    return nullptr;
}

} // namespace

bool msr_exit(Vm& vm, Vcpu& v, bool write, GuestView& g) {
    GuestRegs& r = v.regs;
    const u32 msr = static_cast<u32>(r.rcx);
    const u64 value = (r.rdx << 32) | (r.rax & 0xffffffff);
    bool ok = true;
    u64 out = 0;
    if (msr == kMsrPat) {
        if (write)
            ok = pat_valid(value) && (v.pat = value, true);
        else
            out = v.pat;
    } else if (msr == kMsrEfer) {
        const bool paging = g.cr0 & kCr0Pg;
        // LMA is the CPU's (read-only: a write of it is ignored, SDM Vol. 3A 2.2.1).
        if (write)
            ok = (value & ~(kEferWritable | kEferLma)) == 0 &&
                 (!paging || (value & kEferLme) == (g.efer & kEferLme));
        if (write && ok) g.efer = (g.efer & ~kEferWritable) | (value & kEferWritable);
        out = g.efer;
    } else if (msr == kMsrMiscEnable && !write) {
        out = 1; // fast strings
    } else if (const FixedMsr* fx = fixed_msr(msr)) {
        // Fixed values: a read gives it, a write of the same value is accepted.
        ok = !write || value == fx->value;
        out = fx->value;
    } else {
        ok = vapic_msr(vm, v, msr, write, value, &out) == MsrResult::Done;
    }
    if (!ok) {
        kprint("vm %u: %s %#x refused -> injecting #GP\n", vm.id, write ? "wrmsr" : "rdmsr", msr);
        return false;
    }
    if (!write) r.rax = out & 0xffffffff, r.rdx = out >> 32;
    return true;
}

bool cr4_write_allowed(const Vm& vm, u64 value) {
    constexpr u64 kVmxe = 1ull << 13, kSmxe = 1ull << 14, kReserved = ~0xffffffffull;
    if (!(value & (kVmxe | kSmxe | kReserved))) return true;
    kprint("vm %u: mov cr4 = %#llx (VMXE, SMXE or reserved bits) -> injecting #GP\n", vm.id,
           static_cast<ull>(value));
    return false;
}

bool xsetbv_exit(Vm& vm, Vcpu& v) {
    GuestRegs& r = v.regs;
    const u32 xcr = static_cast<u32>(r.rcx);
    const u64 value = (r.rdx << 32) | (r.rax & 0xffffffff);
    const x86::CpuidRegs d = x86::cpuid(0xd, 0);
    if (!xsetbv_valid(xcr, value, (static_cast<u64>(d.edx) << 32) | d.eax)) {
        kprint("vm %u: xsetbv xcr%u = %#llx invalid -> injecting #GP\n", vm.id, xcr,
               static_cast<ull>(value));
        return false;
    }
    asm volatile("xsetbv" ::"c"(0u), "a"(static_cast<u32>(value)),
                 "d"(static_cast<u32>(value >> 32)));
    v.xcr0 = value;
    return true;
}

} // namespace keel::virt
