// Entering VMX operation on the boot CPU (SDM Vol. 3C 24.7 "Enabling and entering VMX
// operation", 24.8 "Restrictions on VMX operation").
#include "../descriptors.hpp"
#include "hypervisor/print.hpp"
#include "msr.hpp"
#include "vmcs.hpp"
#include "vmx.hpp"

namespace keel::vmx {
namespace {

using ull = unsigned long long;

// The VMXON regions (SDM Vol. 3C 25.11.5), one per CPU slot: 4 KiB aligned, revision
// id in bits 30:0 of the first word. The image is identity mapped: address = physical.
alignas(4096) u8 g_vmxon_region[x86::kMaxCpus][4096];
bool g_write_failed = false; // only the boot CPU's test VM reads it
constexpr u32 kCpuid1EcxXsave = 1u << 26;
constexpr u64 kCr4Osxsave = 1ull << 18;

} // namespace

void report_vmwrite_failure(u32 field, u64 value) {
    const u32 error =
        static_cast<u32>(vmread_raw(static_cast<u32>(VmcsField32::VmInstructionError)));
    kprint("vmx: VMWRITE of field %#x = %#llx failed: VM-instruction error %u (%s)\n", field,
           static_cast<ull>(value), error, instruction_error_name(error));
    g_write_failed = true;
}
bool vmcs_write_failed() { return g_write_failed; }
void vmcs_clear_failures() { g_write_failed = false; }

Status enable(u32 slot, bool report) {
    if (slot >= x86::kMaxCpus) return Status::OutOfRange;
    if (!(x86::cpuid(1).ecx & kCpuid1EcxVmx)) {
        kprint("vmx: CPUID.1:ECX.VMX[bit 5] is 0: no VT-x\n");
        return Status::Unsupported;
    }
    // IA32_FEATURE_CONTROL (SDM Vol. 3C 24.7): VMXON #GPs unless the lock bit and
    // "enable VMX outside SMX" are set. Firmware normally locks it; if it did not, we do.
    u64 fc = x86::rdmsr(kMsrIa32FeatureControl);
    if (!(fc & kFeatureControlLock)) {
        fc |= kFeatureControlLock | kFeatureControlVmxOutsideSmx;
        x86::wrmsr(kMsrIa32FeatureControl, fc);
        kprint("vmx: IA32_FEATURE_CONTROL was unlocked: set VMX outside SMX and locked (%#llx)\n",
               static_cast<ull>(fc));
    }
    if (!(fc & kFeatureControlVmxOutsideSmx)) {
        kprint("vmx: IA32_FEATURE_CONTROL is locked with VMX outside SMX disabled (firmware)\n");
        return Status::Unsupported;
    }

    // CR0/CR4 must respect the fixed bits while in VMX operation (SDM Vol. 3C A.7, A.8):
    // a 1 in FIXED0 must be 1, a 0 in FIXED1 must be 0. CR4.VMXE is one of FIXED0's bits.
    const u64 cr0 =
        (x86::read_cr0() | x86::rdmsr(kMsrIa32VmxCr0Fixed0)) & x86::rdmsr(kMsrIa32VmxCr0Fixed1);
    // CR4.OSXSAVE too (when XSAVE exists), so a guest's validated XSETBV can be executed.
    const u64 osxsave = (x86::cpuid(1).ecx & kCpuid1EcxXsave) ? kCr4Osxsave : 0;
    const u64 cr4 = (x86::read_cr4() | kCr4Vmxe | osxsave | x86::rdmsr(kMsrIa32VmxCr4Fixed0)) &
                    x86::rdmsr(kMsrIa32VmxCr4Fixed1);
    x86::write_cr0(cr0);
    write_cr4(cr4);

    const u64 basic = x86::rdmsr(x86::kMsrVmxBasic);
    *reinterpret_cast<u32*>(g_vmxon_region[slot]) = static_cast<u32>(basic & kBasicRevisionMask);
    const u64 pa = reinterpret_cast<u64>(g_vmxon_region[slot]);
    switch (vmxon_insn(pa)) {
    case VmxResult::Ok: break;
    case VmxResult::FailInvalid:
        kprint("vmx: VMXON failed (CF=1, VMfailInvalid): bad VMXON pointer %#llx or revision %#x\n",
               static_cast<ull>(pa), static_cast<u32>(basic & kBasicRevisionMask));
        return Status::HardwareFault;
    case VmxResult::FailValid:
        kprint("vmx: VMXON failed (ZF=1, VMfailValid): already in VMX operation\n");
        return Status::BadState;
    }
    if (!report) return Status::Ok;
    kprint("vmx: VMXON ok (revision %#x, region %#llx, CR0 %#llx, CR4 %#llx)\n",
           static_cast<u32>(basic & kBasicRevisionMask), static_cast<ull>(pa),
           static_cast<ull>(cr0), static_cast<ull>(cr4));
    return Status::Ok;
}

} // namespace keel::vmx
