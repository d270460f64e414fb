// Entering SVM operation on a CPU (AMD APM Vol. 2 15.4 "Enabling SVM"): VM_CR.SVMDIS
// clear, EFER.SVME set, and VM_HSAVE_PA pointing at this CPU's host save area, where
// VMRUN keeps the host state #VMEXIT restores (15.30.4). A second page per CPU holds
// what VMRUN does not switch (FS, GS, TR, LDTR, KernelGsBase, the SYSCALL and SYSENTER
// MSRs): entry.S saves the host's there with VMSAVE and takes it back with VMLOAD.
#include "../descriptors.hpp"
#include "../virt/backend.hpp"
#include "../x86.hpp"
#include "hypervisor/print.hpp"
#include "svm.hpp"
#include "vmcb.hpp"

namespace keel::svm {
namespace {

using ull = unsigned long long;

alignas(4096) u8 g_host_save[x86::kMaxCpus][4096];
alignas(4096) u8 g_host_state[x86::kMaxCpus][4096];
constexpr u32 kCpuidExt1EcxSvm = 1u << 2, kCpuid1EcxXsave = 1u << 26;
constexpr u64 kVmCrSvmDis = 1ull << 4, kCr4Osxsave = 1ull << 18;

} // namespace

u64 host_state_pa(u32 slot) { return reinterpret_cast<u64>(g_host_state[slot]); }

Status enable(u32 slot, bool report) {
    if (slot >= x86::kMaxCpus) return Status::OutOfRange;
    if (!(x86::cpuid(0x80000001).ecx & kCpuidExt1EcxSvm)) {
        kprint("svm: CPUID.80000001H:ECX.SVM[bit 2] is 0: no SVM\n");
        return Status::Unsupported;
    }
    if (x86::rdmsr(x86::kMsrVmCr) & kVmCrSvmDis) {
        kprint("svm: VM_CR.SVMDIS is set (firmware): SVM disabled\n");
        return Status::Unsupported;
    }
    // CR4.OSXSAVE (when XSAVE exists), so a guest's validated XSETBV can be executed.
    if (x86::cpuid(1).ecx & kCpuid1EcxXsave)
        asm volatile("mov %0, %%cr4" ::"r"(x86::read_cr4() | kCr4Osxsave) : "memory");
    x86::wrmsr(x86::kMsrEfer, x86::rdmsr(x86::kMsrEfer) | kEferSvme);
    const u64 hsave = reinterpret_cast<u64>(g_host_save[slot]); // identity mapped
    x86::wrmsr(kMsrVmHsavePa, hsave);
    if (report) kprint("svm: EFER.SVME set, VM_HSAVE_PA %#llx\n", static_cast<ull>(hsave));
    return Status::Ok;
}

} // namespace keel::svm
