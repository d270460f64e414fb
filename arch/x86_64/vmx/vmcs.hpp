// VMCS fields, split by width so a wrong-width access does not compile (the field
// encoding's bits 14:13 give the width: SDM Vol. 3C 25.11.2, appendix B). Encodings
// are from appendix B; names follow the SDM's field names. The value is typed too:
// with -Wconversion (KEEL_WARNINGS) a wider or signed value into a narrower field, or a
// read into a narrower variable, needs an explicit cast (tests/compile_fail/).
#pragma once

#include "hypervisor/types.hpp"

namespace keel::vmx {

enum class VmcsField16 : u32 {
    Vpid = 0x0000, // B.1.1
    GuestEsSelector = 0x0800,
    GuestCsSelector = 0x0802,
    GuestSsSelector = 0x0804,
    GuestDsSelector = 0x0806,
    GuestFsSelector = 0x0808,
    GuestGsSelector = 0x080a,
    GuestLdtrSelector = 0x080c,
    GuestTrSelector = 0x080e, // B.1.2
    HostEsSelector = 0x0c00,
    HostCsSelector = 0x0c02,
    HostSsSelector = 0x0c04,
    HostDsSelector = 0x0c06,
    HostFsSelector = 0x0c08,
    HostGsSelector = 0x0c0a,
    HostTrSelector = 0x0c0c, // B.1.3
};

enum class VmcsField64 : u32 {
    IoBitmapA = 0x2000,
    IoBitmapB = 0x2002,
    MsrBitmap = 0x2004,
    EptPointer = 0x201a,           // B.2.1
    GuestPhysicalAddress = 0x2400, // B.2.2 (read-only)
    VmcsLinkPointer = 0x2800,
    GuestIa32Debugctl = 0x2802,
    GuestIa32Efer = 0x2806, // B.2.3
    HostIa32Efer = 0x2c02,  // B.2.4
};

enum class VmcsField32 : u32 {
    PinBasedControls = 0x4000,
    ProcBasedControls = 0x4002,
    ExceptionBitmap = 0x4004,
    ExitControls = 0x400c,
    EntryControls = 0x4012,
    EntryInterruptionInfo = 0x4016,
    EntryExceptionErrorCode = 0x4018,
    EntryInstructionLength = 0x401a,
    ProcBasedControls2 = 0x401e, // B.3.1
    VmInstructionError = 0x4400,
    ExitReason = 0x4402,
    ExitInterruptionInfo = 0x4404,
    IdtVectoringInfo = 0x4408,
    IdtVectoringErrorCode = 0x440a,
    ExitInstructionLength = 0x440c, // B.3.2
    GuestEsLimit = 0x4800,
    GuestCsLimit = 0x4802,
    GuestSsLimit = 0x4804,
    GuestDsLimit = 0x4806,
    GuestFsLimit = 0x4808,
    GuestGsLimit = 0x480a,
    GuestLdtrLimit = 0x480c,
    GuestTrLimit = 0x480e,
    GuestGdtrLimit = 0x4810,
    GuestIdtrLimit = 0x4812,
    GuestEsAccessRights = 0x4814,
    GuestCsAccessRights = 0x4816,
    GuestSsAccessRights = 0x4818,
    GuestDsAccessRights = 0x481a,
    GuestFsAccessRights = 0x481c,
    GuestGsAccessRights = 0x481e,
    GuestLdtrAccessRights = 0x4820,
    GuestTrAccessRights = 0x4822,
    GuestInterruptibilityState = 0x4824,
    GuestActivityState = 0x4826,
    GuestSysenterCs = 0x482a,
    PreemptionTimerValue = 0x482e, // B.3.3
    HostSysenterCs = 0x4c00,       // B.3.4
};

enum class VmcsFieldNatural : u32 {
    Cr0GuestHostMask = 0x6000,
    Cr4GuestHostMask = 0x6002,
    Cr0ReadShadow = 0x6004,
    Cr4ReadShadow = 0x6006, // B.4.1
    ExitQualification = 0x6400,
    GuestLinearAddress = 0x640a, // B.4.2 (read-only)
    GuestCr0 = 0x6800,
    GuestCr3 = 0x6802,
    GuestCr4 = 0x6804,
    GuestEsBase = 0x6806,
    GuestCsBase = 0x6808,
    GuestSsBase = 0x680a,
    GuestDsBase = 0x680c,
    GuestFsBase = 0x680e,
    GuestGsBase = 0x6810,
    GuestLdtrBase = 0x6812,
    GuestTrBase = 0x6814,
    GuestGdtrBase = 0x6816,
    GuestIdtrBase = 0x6818,
    GuestDr7 = 0x681a,
    GuestRsp = 0x681c,
    GuestRip = 0x681e,
    GuestRflags = 0x6820,
    GuestPendingDebugExceptions = 0x6822,
    GuestSysenterEsp = 0x6824,
    GuestSysenterEip = 0x6826, // B.4.3
    HostCr0 = 0x6c00,
    HostCr3 = 0x6c02,
    HostCr4 = 0x6c04,
    HostFsBase = 0x6c06,
    HostGsBase = 0x6c08,
    HostTrBase = 0x6c0a,
    HostGdtrBase = 0x6c0c,
    HostIdtrBase = 0x6c0e,
    HostSysenterEsp = 0x6c10,
    HostSysenterEip = 0x6c12,
    HostRsp = 0x6c14,
    HostRip = 0x6c16, // B.4.4
};

// The raw instructions. VMX instructions report failure in RFLAGS (SDM Vol. 3C 31.2):
// CF=1 VMfailInvalid (no current VMCS), ZF=1 VMfailValid (error number in the VMCS).
// `setna` catches both. A failed VMWRITE is reported once, here, and remembered.
void report_vmwrite_failure(u32 field, u64 value);
[[nodiscard]] bool vmcs_write_failed(); // sticky since the last vmcs_clear_failures()
void vmcs_clear_failures();

inline void vmwrite_raw(u32 field, u64 value) {
    u8 failed;
    asm volatile("vmwrite %2, %1; setna %0"
                 : "=r"(failed)
                 : "r"(static_cast<u64>(field)), "rm"(value)
                 : "cc", "memory");
    if (failed) report_vmwrite_failure(field, value);
}
inline u64 vmread_raw(u32 field) {
    u64 value = 0;
    asm volatile("vmread %1, %0" : "=rm"(value) : "r"(static_cast<u64>(field)) : "cc");
    return value;
}

inline void vmwrite(VmcsField16 f, u16 v) { vmwrite_raw(static_cast<u32>(f), v); }
inline void vmwrite(VmcsField32 f, u32 v) { vmwrite_raw(static_cast<u32>(f), v); }
inline void vmwrite(VmcsField64 f, u64 v) { vmwrite_raw(static_cast<u32>(f), v); }
inline void vmwrite(VmcsFieldNatural f, u64 v) { vmwrite_raw(static_cast<u32>(f), v); }
inline u16 vmread(VmcsField16 f) { return static_cast<u16>(vmread_raw(static_cast<u32>(f))); }
inline u32 vmread(VmcsField32 f) { return static_cast<u32>(vmread_raw(static_cast<u32>(f))); }
inline u64 vmread(VmcsField64 f) { return vmread_raw(static_cast<u32>(f)); }
inline u64 vmread(VmcsFieldNatural f) { return vmread_raw(static_cast<u32>(f)); }

} // namespace keel::vmx
