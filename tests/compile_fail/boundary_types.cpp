// Compile-time guarantees at the type boundary (tests/compile_fail/compile_fail.cmake):
// built with KEEL_WARNINGS for the x86_64 image target, syntax only. Without a KEEL_CASE_*
// macro it must compile (the control: explicit casts and a checked Status); each case
// must be rejected with its diagnostic.
#include "arch/x86_64/vmx/vmcs.hpp"
#include "hypervisor/status.hpp"

namespace keel {

Status may_fail();

void boundary([[maybe_unused]] u64 wide, [[maybe_unused]] int narrow_signed) {
    using namespace vmx;
#if defined(KEEL_CASE_vmwrite_u64_into_16bit)
    vmwrite(VmcsField16::Vpid, wide);
#elif defined(KEEL_CASE_vmwrite_u64_into_32bit)
    vmwrite(VmcsField32::ExceptionBitmap, wide);
#elif defined(KEEL_CASE_vmwrite_signed_into_32bit)
    vmwrite(VmcsField32::ExceptionBitmap, narrow_signed);
#elif defined(KEEL_CASE_vmread_natural_into_u32)
    u32 rip = vmread(VmcsFieldNatural::GuestRip);
    vmwrite(VmcsField32::ExceptionBitmap, rip);
#elif defined(KEEL_CASE_ignored_status)
    may_fail();
#else
    vmwrite(VmcsField16::Vpid, static_cast<u16>(wide));
    vmwrite(VmcsField32::ExceptionBitmap, static_cast<u32>(narrow_signed));
    vmwrite(VmcsFieldNatural::GuestRip, vmread(VmcsFieldNatural::GuestRip) + wide);
    if (may_fail() != Status::Ok) vmwrite(VmcsField16::Vpid, 0);
#endif
}

} // namespace keel
