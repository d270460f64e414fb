// Pure x86 rules VMX and SVM share (host-tested in tests/unit/x86_mmio_decode_test.cpp):
// the event-injection word, which exceptions carry an error code, XSETBV validation.
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

} // namespace keel::virt
