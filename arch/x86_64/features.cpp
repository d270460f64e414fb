// Reports what the virtualization paths will rely on: CPU identity, then either
// Intel VMX (CPUID and the VMX capability MSRs, SDM Vol. 3C appendix A) or AMD SVM
// (CPUID 0x8000000A, APM Vol. 2 15.4). VMX MSRs are read only when CPUID says VMX
// exists: on other CPUs they raise #GP.
#include <arch/cpu.hpp>
#include <arch/features.hpp>

#include "hypervisor/cmdline.hpp"
#include "hypervisor/print.hpp"
#include "paging.hpp"
#include "percpu.hpp"
#include "virt/backend.hpp"
#include "vmx/vmx.hpp"
#include "x86.hpp"
#include "zydis_check.hpp"
#include <arch/smp.hpp>
#include <arch/vm.hpp>

namespace keel::arch {
namespace {

using ull = unsigned long long;

// CPUID feature bits (SDM Vol. 2A, CPUID; APM Vol. 3, appendix E).
constexpr u32 kCpuid1EcxVmx = 1u << 5;
constexpr u32 kCpuidExt1EcxSvm = 1u << 2;
constexpr u32 kCpuidSvmEdxNpt = 1u << 0;
constexpr u32 kCpuidSvmEdxNrips = 1u << 3;
// IA32_VMX_PROCBASED_CTLS allowed-1 (high half) bit 31: secondary controls exist (A.3.2).
constexpr u64 kProcbasedActivateSecondary = 1ull << 63;
// IA32_VMX_PROCBASED_CTLS2 allowed-1 bits (SDM Vol. 3C 25.6.2, table 25-7).
constexpr u64 kProcbased2Ept = 1ull << (32 + 1);
constexpr u64 kProcbased2Vpid = 1ull << (32 + 5);
constexpr u64 kProcbased2UnrestrictedGuest = 1ull << (32 + 7);
// IA32_FEATURE_CONTROL (SDM Vol. 4 table 2-2): lock, VMX outside SMX.
constexpr u64 kFeatureControlLock = 1ull << 0;
constexpr u64 kFeatureControlVmxOutsideSmx = 1ull << 2;
// VM_CR (APM Vol. 2 15.30.1): SVMDIS.
constexpr u64 kVmCrSvmDis = 1ull << 4;

// Unmapped in the hypervisor's tables (checked before use): 1 GiB.
constexpr u64 kTestFaultAddress = 0x40000000;

const char* yes(bool b) { return b ? "yes" : "no"; }

void report_cpu() {
    const x86::CpuidRegs v = x86::cpuid(0);
    char vendor[13];
    __builtin_memcpy(vendor, &v.ebx, 4);
    __builtin_memcpy(vendor + 4, &v.edx, 4);
    __builtin_memcpy(vendor + 8, &v.ecx, 4);
    vendor[12] = '\0';
    char brand[49] = "(none)";
    if (x86::cpuid(0x80000000).eax >= 0x80000004) {
        for (u32 i = 0; i < 3; ++i) {
            const x86::CpuidRegs b = x86::cpuid(0x80000002 + i);
            __builtin_memcpy(brand + 16 * i, &b, 16);
        }
        brand[48] = '\0';
    }
    const char* trimmed = brand;
    while (*trimmed == ' ')
        ++trimmed;
    const u32 sig = x86::cpuid(1).eax;
    kprint("cpu: %s \"%s\" signature %#x\n", vendor, trimmed, sig);
}

// Returns true when VMX with EPT, VPID and unrestricted guest is usable.
bool report_vmx() {
    if (!(x86::cpuid(1).ecx & kCpuid1EcxVmx)) {
        kprint("virt: VMX no\n");
        return false;
    }
    const u64 feature_control = x86::rdmsr(x86::kMsrFeatureControl);
    const u64 basic = x86::rdmsr(x86::kMsrVmxBasic);
    u64 ctls2 = 0, ept_vpid = 0;
    if (x86::rdmsr(x86::kMsrVmxProcbasedCtls) & kProcbasedActivateSecondary)
        ctls2 = x86::rdmsr(x86::kMsrVmxProcbasedCtls2);
    const bool ept = ctls2 & kProcbased2Ept, vpid = ctls2 & kProcbased2Vpid;
    // EPT_VPID_CAP exists only if EPT or VPID can be enabled (SDM Vol. 3C A.10).
    if (ept || vpid) ept_vpid = x86::rdmsr(x86::kMsrVmxEptVpidCap);
    kprint("virt: VMX yes, VMX_BASIC %#018llx, EPT %s, VPID %s, unrestricted guest %s, "
           "EPT_VPID_CAP %#018llx\n",
           static_cast<ull>(basic), yes(ept), yes(vpid), yes(ctls2 & kProcbased2UnrestrictedGuest),
           static_cast<ull>(ept_vpid));
    kprint("virt: IA32_FEATURE_CONTROL %#llx (locked %s, VMX outside SMX %s)\n",
           static_cast<ull>(feature_control), yes(feature_control & kFeatureControlLock),
           yes(feature_control & kFeatureControlVmxOutsideSmx));
    // Partitions need EPT, VPID (no TLB flush per switch) and unrestricted guest.
    return ept && vpid && (ctls2 & kProcbased2UnrestrictedGuest);
}

// Returns true when SVM with nested paging is usable (APM Vol. 2 15.4: CPUID
// 0x80000001 ECX[2], 0x8000000A EDX[0] NP; VM_CR.SVMDIS clear).
bool report_svm() {
    const bool ext = x86::cpuid(0x80000000).eax >= 0x8000000a;
    if (!ext || !(x86::cpuid(0x80000001).ecx & kCpuidExt1EcxSvm)) {
        kprint("virt: SVM no\n");
        return false;
    }
    const x86::CpuidRegs svm = x86::cpuid(0x8000000a);
    const bool npt = svm.edx & kCpuidSvmEdxNpt;
    const bool disabled = x86::rdmsr(x86::kMsrVmCr) & kVmCrSvmDis;
    kprint("virt: SVM yes, NPT %s, ASIDs %u, NRIPS %s%s\n", yes(npt), svm.ebx,
           yes(svm.edx & kCpuidSvmEdxNrips),
           disabled ? " (disabled by firmware: VM_CR.SVMDIS)" : "");
    return npt && !disabled;
}

// keel.test=vmx / vmx-bad-control: VMXON, the test VM, then power off (issue 4,
// first step; until the core's VM manager drives VT-x, the test hooks in here).
void run_vmx_test(const Platform& platform) {
    const Cmdline cmdline(x86::boot_info().cmdline);
    const bool guest = cmdline.value_is("keel.test", "vmx");
    if (!guest && !cmdline.value_is("keel.test", "vmx-bad-control")) return;
    Status s = vmx::enable();
    if (s == Status::Ok)
        s = vmx::run_test_vm(platform, guest ? vmx::TestMode::Guest : vmx::TestMode::BadControl);
    kprint("test: vmx %s\n", s == Status::Ok ? "done" : status_name(s));
    power_off(s == Status::Ok ? 0 : 1);
}

} // namespace

Status report_features(const Platform& platform) {
    report_cpu();
    const bool vmx = report_vmx();
    const bool svm = report_svm();
    KEEL_TRY(x86::zydis_self_check());
    // VMX wins where both exist (no CPU has both; nested set-ups may).
    virt::set_backend(vmx ? virt::Backend::Vmx : svm ? virt::Backend::Svm : virt::Backend::None);
    kprint("virt: backend %s\n", virt::backend_name(virt::backend()));
    if (vmx) run_vmx_test(platform);
    // keel.test=smp: bring the APs up even where partitions are off (QEMU TCG has SVM only).
    if (Cmdline(x86::boot_info().cmdline).value_is("keel.test", "smp"))
        (void)arch::smp_start(platform);
    // Keel needs second-level translation: VMX with EPT or SVM with NPT.
    return (vmx || svm) ? Status::Ok : Status::Unsupported;
}

void trigger_test_fault() {
    if (x86::is_mapped(kTestFaultAddress)) {
        kprint("KEEL PANIC: test fault address %#llx is mapped\n",
               static_cast<ull>(kTestFaultAddress));
        halt();
    }
    auto* p = reinterpret_cast<volatile u64*>(kTestFaultAddress);
    (void)*p;
    kprint("KEEL PANIC: deliberate fault did not fault\n");
    halt();
}

} // namespace keel::arch
