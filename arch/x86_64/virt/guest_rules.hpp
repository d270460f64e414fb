// Pure x86 rules VMX and SVM share (host-tested in tests/unit/x86_mmio_decode_test.cpp and
// x86_guest_rules_test.cpp): the event-injection word, which exceptions carry an error code,
// XSETBV validation, the CPUID bits and sizes that follow the guest's CR4 and XCR0.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::virt {

// An injected event: VMX's VM-entry interruption-information field (SDM Vol. 3C 25.8.3,
// table 25-17) and the low 32 bits of SVM's EVENTINJ (APM Vol. 2 15.20) are the same word:
// vector 7:0, type 10:8, error code valid 11, valid 31. `encode` gives it.
enum class EventType : u8 {
    ExternalInterrupt = 0,
    Nmi = 2,
    HardwareException = 3,
    SoftwareInterrupt = 4
};
struct EntryEvent {
    u8 vector;
    EventType type;
    bool has_error_code;
    [[nodiscard]] constexpr u32 encode() const {
        return vector | (static_cast<u32>(type) << 8) | (has_error_code ? 1u << 11 : 0u) |
               (1u << 31);
    }
};
// Exceptions delivered with an error code in protected/long mode (SDM Vol. 3A 6.15).
constexpr bool exception_has_error_code(u8 vector) {
    return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21;
}

// XSETBV validation (SDM Vol. 2C XSETBV; Vol. 1 13.3): XCR0 only, bit 0 (x87) set, only
// bits the host supports (CPUID.(EAX=0DH,ECX=0):EDX:EAX), AVX needs SSE, the AVX-512
// bits (7:5) all or none and only with AVX, BNDREGS and BNDCSR (4:3) together.
constexpr bool xsetbv_valid(u32 xcr, u64 value, u64 supported) {
    if (xcr != 0 || !(value & 1) || (value & ~supported) != 0) return false;
    if ((value & 4) && !(value & 2)) return false;
    const u64 avx512 = value & 0xe0;
    if (avx512 != 0 && (avx512 != 0xe0 || !(value & 4))) return false;
    return ((value >> 3) & 1) == ((value >> 4) & 1);
}

// CPUID bits that report the OS's own settings, not the CPU's (SDM Vol. 2A CPUID): leaf 1
// ECX 27 OSXSAVE is CR4.OSXSAVE (bit 18), leaf 7 sub-leaf 0 ECX 4 OSPKE is CR4.PKE (bit 22).
// The hypervisor executes CPUID with its own CR4, so they are set from the guest's: a
// guest that left OSXSAVE clear must not be told to use XGETBV (#UD, SDM Vol. 2C XGETBV).
constexpr u32 cpuid_ecx_os_bits(u32 leaf, u32 sub, u32 ecx, u64 guest_cr4) {
    constexpr u32 kOsxsave = 1u << 27, kOspke = 1u << 4;
    constexpr u64 kCr4Osxsave = 1ull << 18, kCr4Pke = 1ull << 22;
    if (leaf == 1) return (ecx & ~kOsxsave) | ((guest_cr4 & kCr4Osxsave) ? kOsxsave : 0u);
    if (leaf == 7 && sub == 0) return (ecx & ~kOspke) | ((guest_cr4 & kCr4Pke) ? kOspke : 0u);
    return ecx;
}

// An XSAVE state component as CPUID.(EAX=0DH,ECX=i) describes it: EAX its size, ECX bit 1
// "aligned to 64 bytes in the compacted format".
struct XsaveComponent {
    u32 size;
    bool align64;
};
// Size of an XSAVE area in the compacted format holding the components in `mask` (SDM Vol. 1
// 13.4.3): the legacy region and header (576 bytes), then each component i >= 2 of the mask
// in order, right after the previous one, rounded up to 64 bytes where it asks to be.
// `comps[i]` describes component i, for i < count; bits of the mask at or beyond count are
// ignored. This is CPUID.(EAX=0DH,ECX=1):EBX for a guest whose IA32_XSS is 0 (no XSAVES).
constexpr u32 xsave_compacted_size(u64 mask, const XsaveComponent* comps, u32 count) {
    u32 end = 576;
    for (u32 i = 2; i < count && i < 64; ++i) {
        if (!((mask >> i) & 1)) continue;
        if (comps[i].align64) end = (end + 63u) & ~63u;
        end += comps[i].size;
    }
    return end;
}

} // namespace keel::virt
