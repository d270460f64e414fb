#include "core_reset.hpp"

#include <string.h>

#include "../percpu.hpp"
#include "../x86.hpp"
#include "exit_policy.hpp"
#include "hypervisor/print.hpp"

extern "C" void x86_fp_reset(const void* area, keel::u64 mask, keel::u32 use_xsave);

namespace keel::virt {
namespace {

constexpr u32 kMsrPredCmd = 0x49, kMsrFlushCmd = 0x10b; // IBPB / L1D_FLUSH: bit 0
// XSAVE components reset here: everything XCR0 may enable except AMX tile state
// (bits 17-18), which needs XFD set-up Keel does not do (and no guest gets).
constexpr u64 kAmx = (1ull << 17) | (1ull << 18);

alignas(64) u8 g_area[8192]; // XSAVE standard form, header zero: every component "init"
u64 g_mask = 0;
bool g_xsave = false, g_ibpb = false, g_l1d = false, g_verw = false;

void verw() {
    // VERW with any valid writable data selector flushes the CPU buffers on parts that
    // enumerate MD_CLEAR; the hypervisor's own data selector will do.
    u16 ds;
    asm volatile("mov %%ds, %0" : "=r"(ds));
    asm volatile("verw %0" ::"m"(ds) : "cc");
}

} // namespace

void core_reset_probe() {
    const x86::CpuidRegs l1 = x86::cpuid(1, 0);
    g_xsave = (l1.ecx >> 26) & 1;
    if (g_xsave) {
        const x86::CpuidRegs d = x86::cpuid(0xd, 0);
        g_mask = ((static_cast<u64>(d.edx) << 32) | d.eax) & ~kAmx;
        if (d.ecx > sizeof g_area) g_xsave = false; // no room for every component: FXRSTOR
    }
    memset(g_area, 0, sizeof g_area);
    const u32 mxcsr_reset = 0x1f80;
    memcpy(g_area + 24, &mxcsr_reset, sizeof mxcsr_reset); // legacy area MXCSR (SDM 10.5.1)
    const x86::CpuidRegs l7 = x86::cpuid(0, 0).eax >= 7 ? x86::cpuid(7, 0) : x86::CpuidRegs{};
    g_ibpb = (l7.edx >> 26) & 1;
    g_l1d = (l7.edx >> 28) & 1;
    g_verw = (l7.edx >> 10) & 1;
    kprint("vcpu reset: %s (XCR0 mask %#llx); on a change of VM: IBPB %s, L1D flush %s, VERW %s\n",
           g_xsave ? "XRSTOR to init" : "FNINIT + FXRSTOR", static_cast<unsigned long long>(g_mask),
           g_ibpb ? "yes" : "not enumerated", g_l1d ? "yes" : "not enumerated",
           g_verw ? "yes" : "not enumerated");
}

void core_reset_for_vcpu(u16 vm_id) {
    x86::PerCpu& me = x86::this_cpu();
    if (me.last_vm != vm_id) {
        if (me.last_vm != 0) {
            if (g_ibpb) x86::wrmsr(kMsrPredCmd, 1);
            if (g_l1d) x86::wrmsr(kMsrFlushCmd, 1);
            if (g_verw) verw();
        }
        me.last_vm = vm_id;
    }
    x86_fp_reset(g_area, g_mask, g_xsave ? 1u : 0u);
    // VMX keeps these in the core while the guest runs (exit_policy.hpp); SVM's VMLOAD
    // replaces them anyway.
    for (const u32 msr : kCoreHeldMsrs)
        x86::wrmsr(msr, 0);
    const u64 zero = 0, dr6 = 0xffff0ff0; // DR6 at reset (SDM Vol. 3B 19.2.3)
    asm volatile(
        "mov %0, %%dr0; mov %0, %%dr1; mov %0, %%dr2; mov %0, %%dr3; mov %1, %%dr6" ::"r"(zero),
        "r"(dr6));
}

} // namespace keel::virt
