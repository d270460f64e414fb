// CPUID as a VM sees it, under VMX and SVM alike (SDM Vol. 2A CPUID; APM Vol. 3 E.4): no
// VMX/SMX (leaf 1 ECX 5, 6) or SVM (0x80000001 ECX 2, leaf 0x8000000A zero), the
// hypervisor bit (leaf 1 ECX 31), Keel's leaf 0x40000000, and a topology of one package
// whose logical processors are the VM's own vCPUs with initial APIC ids 0..n-1 (leaf 1 EBX
// 23:16 and 31:24, leaf 4 EAX 31:26, leaf 0xB with the x2APIC id in EDX), and x2APIC
// (leaf 1 ECX 21): the virtual APIC is an x2APIC with the TSC-deadline timer (leaf 1 ECX
// 24), an invariant TSC (0x80000007 EDX 8). The TSC's rate in leaves 0x15/0x16 (the highest basic
// leaf raised to 0x16). No 5-level paging (leaf 7 ECX 16). Hidden besides: what neither
// backend enables or switches per VM (below; docs/x86-linux.md "Under VMX (Bochs)"). The
// bits that report the guest's own CR4/XCR0 are set in cpuid_exit (guest_rules.hpp).
#include "../tsc.hpp"
#include "exit_policy.hpp"
#include "guest_rules.hpp"

namespace keel::virt {
namespace {

constexpr u32 kSigKeel = 0x6c65654b; // "Keel": leaf 0x40000000 EBX, ECX, EDX
constexpr u32 kCpuid1EcxVmx = 1u << 5, kCpuid1EcxSmx = 1u << 6, kCpuid1EcxX2apic = 1u << 21,
              kCpuid1EcxTscDeadline = 1u << 24, kCpuid1EcxHypervisor = 1u << 31;
constexpr u32 kLeafTsc = 0x15, kLeafFreq = 0x16;
// Hidden: machine checks (leaf 1 EDX 7 MCE, 14 MCA: no MCG/MCi MSRs are emulated) and
// RDTSCP/RDPID (0x80000001 EDX 27, leaf 7 ECX 22: IA32_TSC_AUX is not switched per VM).
constexpr u32 kCpuid1EdxMce = 1u << 7, kCpuid1EdxMca = 1u << 14, kCpuidExt1EdxRdtscp = 1u << 27,
              kCpuid7EcxRdpid = 1u << 22;
constexpr u32 kCpuidExt1EcxSvm = 1u << 2;
// 0x80000007 EDX 8: the TSC runs at a constant rate (the guest sees the host's TSC, which
// Keel requires to be invariant: tsc.hpp measures it once). Linux then trusts it across
// its CPUs (e.g. an AP takes the boot CPU's loops-per-jiffy instead of timing jiffies).
constexpr u32 kCpuidExt7EdxInvariantTsc = 1u << 8;
// Leaf 7 ECX 16: 5-level paging. Hidden: the hypervisor's own walks of guest page tables
// (instruction fetch for decode, guest_mem.hpp) are 4-level.
constexpr u32 kCpuid7EcxLa57 = 1u << 16;
// Hidden because the backends do not enable or switch them (SDM Vol. 3C 25.6.2 table 25-7:
// with "enable INVPCID" or "enable XSAVES/XRSTORS" 0 the instruction raises #UD in the
// guest; IA32_TSC_ADJUST and IA32_XSS are not switched per VM): leaf 7 EBX 1 TSC_ADJUST,
// EBX 10 INVPCID, leaf 0xD sub-leaf 1 EAX 3 XSAVES/XRSTORS and IA32_XSS.
// Power and thermal management, none of whose MSRs are emulated: leaf 1 ECX 7 EST
// (IA32_PERF_CTL/STATUS), ECX 8 TM2, EDX 22 ACPI thermal control and EDX 29 TM
// (IA32_THERM_*, IA32_CLOCK_MODULATION); leaf 6 (digital thermal sensor, HWP, APERF/MPERF,
// energy-performance bias) keeps only EAX 2 ARAT: the virtual APIC timer runs in every
// C-state.
constexpr u32 kCpuid1EcxEst = 1u << 7, kCpuid1EcxTm2 = 1u << 8, kCpuid1EdxAcpi = 1u << 22,
              kCpuid1EdxTm = 1u << 29, kCpuid6EaxArat = 1u << 2;
// Performance monitoring, whose MSRs are not emulated either: leaf 0xA (architectural
// performance monitoring) zero, leaf 1 ECX 2 DTES64, ECX 15 PDCM (IA32_PERF_CAPABILITIES)
// and EDX 21 DS (debug store) hidden.
constexpr u32 kCpuid1EcxDtes64 = 1u << 2, kCpuid1EcxPdcm = 1u << 15, kCpuid1EdxDs = 1u << 21;
constexpr u32 kCpuid7EbxTscAdjust = 1u << 1, kCpuid7EbxInvpcid = 1u << 10,
              kCpuidDSub1EaxXsaves = 1u << 3;

// CPUID.(EAX=0DH,ECX=1):EBX for the guest: the compacted size of its XCR0's components.
u32 guest_xsave_size(u64 xcr0) {
    constexpr u32 kComponents = 19; // through AMX tile data (SDM Vol. 1 13.1)
    XsaveComponent comps[kComponents] = {};
    for (u32 i = 2; i < kComponents; ++i) {
        if (!((xcr0 >> i) & 1)) continue;
        const x86::CpuidRegs d = x86::cpuid(0xd, i);
        comps[i] = XsaveComponent{d.eax, ((d.ecx >> 1) & 1) != 0};
    }
    return xsave_compacted_size(xcr0, comps, kComponents);
}

} // namespace

x86::CpuidRegs filtered_cpuid(const Vm& vm, u32 index, u32 leaf, u32 sub) {
    const u32 cores = static_cast<u32>(__builtin_popcountll(vm.cpu_mask));
    if (leaf >= 0x40000000 && leaf < 0x50000000)
        return leaf == 0x40000000 ? x86::CpuidRegs{0x40000000, kSigKeel, kSigKeel, kSigKeel}
                                  : x86::CpuidRegs{};
    const u64 hz = x86::tsc_hz();
    // The TSC's rate (SDM Vol. 2A CPUID 15H/16H): the "core crystal" is the TSC itself
    // (ratio 1/1), which is also the rate the virtual APIC timer counts at (lapic.hpp).
    if (leaf == kLeafTsc) return x86::CpuidRegs{1, 1, static_cast<u32>(hz), 0};
    if (leaf == kLeafFreq) {
        const u32 mhz = static_cast<u32>(hz / 1000000);
        return x86::CpuidRegs{mhz, mhz, mhz, 0};
    }
    x86::CpuidRegs v = x86::cpuid(leaf, sub);
    switch (leaf) {
    case 0:
        if (v.eax < kLeafFreq) v.eax = kLeafFreq;
        break;
    case 1:
        v.ecx = (v.ecx & ~(kCpuid1EcxVmx | kCpuid1EcxSmx | kCpuid1EcxEst | kCpuid1EcxTm2 |
                           kCpuid1EcxDtes64 | kCpuid1EcxPdcm)) |
                kCpuid1EcxHypervisor | kCpuid1EcxX2apic | kCpuid1EcxTscDeadline;
        v.edx &= ~(kCpuid1EdxMce | kCpuid1EdxMca | kCpuid1EdxAcpi | kCpuid1EdxTm | kCpuid1EdxDs);
        v.ebx = (v.ebx & 0xffff) | (cores << 16) | (index << 24);
        break;
    case 7:
        if (sub == 0) {
            v.ecx &= ~(kCpuid7EcxLa57 | kCpuid7EcxRdpid);
            v.ebx &= ~(kCpuid7EbxTscAdjust | kCpuid7EbxInvpcid);
        }
        break;
    case 0xd:
        if (sub == 1) v.eax &= ~kCpuidDSub1EaxXsaves;
        break;
    case 6: v = x86::CpuidRegs{v.eax & kCpuid6EaxArat, 0, 0, 0}; break;
    case 0xa: v = x86::CpuidRegs{}; break;
    case 4: v.eax = (v.eax & 0x03ffffffu) | ((cores - 1) << 26); break;
    case 0xb:
        v = sub == 0   ? x86::CpuidRegs{0, 1, (1u << 8) | sub, index}
            : sub == 1 ? x86::CpuidRegs{static_cast<u32>(32 - __builtin_clz(cores)), cores,
                                        (2u << 8) | sub, index}
                       : x86::CpuidRegs{0, 0, sub, index};
        break;
    case 0x80000001:
        v.ecx &= ~kCpuidExt1EcxSvm;
        v.edx &= ~kCpuidExt1EdxRdtscp;
        break;
    case 0x8000000a: v = x86::CpuidRegs{}; break; // SVM revision and features: none
    case 0x80000007: v.edx |= kCpuidExt7EdxInvariantTsc; break;
    default: break;
    }
    return v;
}

void cpuid_exit(const Vm& vm, Vcpu& c, u64 guest_cr4) {
    GuestRegs& r = c.regs;
    const auto leaf = static_cast<u32>(r.rax), sub = static_cast<u32>(r.rcx);
    x86::CpuidRegs v = filtered_cpuid(vm, c.index, leaf, sub);
    v.ecx = cpuid_ecx_os_bits(leaf, sub, v.ecx, guest_cr4);
    // The CPU's answer counts the core's IA32_XSS, which the guest does not have.
    if (leaf == 0xd && sub == 1) v.ebx = guest_xsave_size(c.xcr0);
    r.rax = v.eax, r.rbx = v.ebx, r.rcx = v.ecx, r.rdx = v.edx;
}

} // namespace keel::virt
