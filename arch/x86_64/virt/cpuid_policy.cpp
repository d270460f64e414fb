// CPUID as a VM sees it, under VMX and SVM alike (SDM Vol. 2A CPUID; APM Vol. 3 E.4): no
// VMX/SMX (leaf 1 ECX 5, 6) or SVM (0x80000001 ECX 2, leaf 0x8000000A zero), the
// hypervisor bit (leaf 1 ECX 31), Keel's leaf 0x40000000, and a topology of one package
// whose logical processors are the VM's own vCPUs with initial APIC ids 0..n-1 (leaf 1 EBX
// 23:16 and 31:24, leaf 4 EAX 31:26, leaf 0xB with the x2APIC id in EDX), and x2APIC
// (leaf 1 ECX 21): the virtual APIC is an x2APIC with the TSC-deadline timer (leaf 1 ECX
// 24), an invariant TSC (0x80000007 EDX 8). The TSC's rate in leaves 0x15/0x16 (the highest basic
// leaf raised to 0x16). No 5-level paging (leaf 7 ECX 16).
#include "../tsc.hpp"
#include "exit_policy.hpp"

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
        v.ecx = (v.ecx & ~(kCpuid1EcxVmx | kCpuid1EcxSmx)) | kCpuid1EcxHypervisor |
                kCpuid1EcxX2apic | kCpuid1EcxTscDeadline;
        v.edx &= ~(kCpuid1EdxMce | kCpuid1EdxMca);
        v.ebx = (v.ebx & 0xffff) | (cores << 16) | (index << 24);
        break;
    case 7:
        if (sub == 0) v.ecx &= ~(kCpuid7EcxLa57 | kCpuid7EcxRdpid);
        break;
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

void cpuid_exit(const Vm& vm, Vcpu& c) {
    GuestRegs& r = c.regs;
    const x86::CpuidRegs v =
        filtered_cpuid(vm, c.index, static_cast<u32>(r.rax), static_cast<u32>(r.rcx));
    r.rax = v.eax, r.rbx = v.ebx, r.rcx = v.ecx, r.rdx = v.edx;
}

} // namespace keel::virt
