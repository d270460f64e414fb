// VMX capability MSRs (SDM Vol. 4 table 2-2, Vol. 3C appendix A), CR bits, and the
// memory-operand VMX instructions (VMXON, VMCLEAR, VMPTRLD, INVEPT, INVVPID).
#pragma once

#include "../x86.hpp"
#include "decode.hpp"

namespace keel::vmx {

inline constexpr u32 kMsrIa32FeatureControl = 0x3a;
inline constexpr u32 kMsrIa32VmxPinbasedCtls = 0x481;
inline constexpr u32 kMsrIa32VmxProcbasedCtls = 0x482;
inline constexpr u32 kMsrIa32VmxExitCtls = 0x483;
inline constexpr u32 kMsrIa32VmxEntryCtls = 0x484;
inline constexpr u32 kMsrIa32VmxCr0Fixed0 = 0x486;
inline constexpr u32 kMsrIa32VmxCr0Fixed1 = 0x487;
inline constexpr u32 kMsrIa32VmxCr4Fixed0 = 0x488;
inline constexpr u32 kMsrIa32VmxCr4Fixed1 = 0x489;
inline constexpr u32 kMsrIa32VmxProcbasedCtls2 = 0x48b;
inline constexpr u32 kMsrIa32VmxEptVpidCap = 0x48c;
inline constexpr u32 kMsrIa32VmxTruePinbasedCtls = 0x48d;
inline constexpr u32 kMsrIa32VmxTrueProcbasedCtls = 0x48e;
inline constexpr u32 kMsrIa32VmxTrueExitCtls = 0x48f;
inline constexpr u32 kMsrIa32VmxTrueEntryCtls = 0x490;
inline constexpr u32 kMsrIa32Pat = 0x277;
inline constexpr u32 kMsrIa32SysenterCs = 0x174, kMsrIa32SysenterEsp = 0x175,
                     kMsrIa32SysenterEip = 0x176;
inline constexpr u32 kMsrIa32FsBase = 0xc0000100, kMsrIa32GsBase = 0xc0000101;

inline constexpr u64 kFeatureControlLock = 1ull << 0;
inline constexpr u64 kFeatureControlVmxOutsideSmx = 1ull << 2;
inline constexpr u32 kCpuid1EcxVmx = 1u << 5;
inline constexpr u32 kCpuid1EcxHypervisor = 1u << 31;
inline constexpr u32 kCpuid1EcxX2apic = 1u << 21;
inline constexpr u64 kBasicRevisionMask = 0x7fffffff; // IA32_VMX_BASIC 30:0 (A.1)
inline constexpr u64 kBasicTrueControls = 1ull << 55; // TRUE capability MSRs exist
inline constexpr u64 kCr0Pe = 1ull << 0, kCr0Ne = 1ull << 5, kCr0Pg = 1ull << 31;
inline constexpr u64 kCr4Vmxe = 1ull << 13;

inline void write_cr4(u64 v) { asm volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }

enum class VmxResult { Ok, FailInvalid, FailValid };

// VMXON/VMCLEAR/VMPTRLD take a memory operand holding the physical address (31.3).
inline VmxResult vmx_flags(u8 cf, u8 zf) {
    return cf ? VmxResult::FailInvalid : zf ? VmxResult::FailValid : VmxResult::Ok;
}
#define KEEL_VMX_PTR_INSN(name)                                                                    \
    inline VmxResult name##_insn(u64 pa) {                                                         \
        u8 cf, zf;                                                                                 \
        asm volatile(#name " %2; setc %0; setz %1"                                                 \
                     : "=r"(cf), "=r"(zf)                                                          \
                     : "m"(pa)                                                                     \
                     : "cc", "memory");                                                            \
        return vmx_flags(cf, zf);                                                                  \
    }
KEEL_VMX_PTR_INSN(vmxon)
KEEL_VMX_PTR_INSN(vmclear)
KEEL_VMX_PTR_INSN(vmptrld)
#undef KEEL_VMX_PTR_INSN

// INVEPT/INVVPID (SDM Vol. 3C 31.3): a type in a register, a 128-bit descriptor in memory.
struct alignas(16) InvDescriptor {
    u64 lo, hi;
};
inline constexpr u64 kInvSingleContext = 1;
inline VmxResult invept(u64 type, u64 eptp) {
    InvDescriptor d{eptp, 0};
    u8 cf, zf;
    asm volatile("invept %2, %3; setc %0; setz %1"
                 : "=r"(cf), "=r"(zf)
                 : "m"(d), "r"(type)
                 : "cc", "memory");
    return vmx_flags(cf, zf);
}
inline VmxResult invvpid(u64 type, u16 vpid) {
    InvDescriptor d{vpid, 0};
    u8 cf, zf;
    asm volatile("invvpid %2, %3; setc %0; setz %1"
                 : "=r"(cf), "=r"(zf)
                 : "m"(d), "r"(type)
                 : "cc", "memory");
    return vmx_flags(cf, zf);
}

} // namespace keel::vmx
