// The TSC's rate, measured once at boot on the boot CPU: from CPUID leaf 0x15 when it
// names the crystal and the TSC/crystal ratio (SDM Vol. 2A, CPUID 15H), else by counting
// TSC ticks across 10 ms of the i8254 PIT's channel 2 (1,193,182 Hz), the one timer every
// PC-compatible machine and emulator has. 0 when neither answers: the clock then reads 0.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::x86 {

enum class TscSource : u32 { None, Cpuid15, Pit };
struct TscRate {
    u64 hz;
    TscSource source;
};

TscRate tsc_calibrate();
// A live update's incoming image (docs/handover.md §2.2 X86Clock): the rate the outgoing
// image measured, taken instead of measuring again.
void tsc_adopt(TscRate r);
// The result of the boot CPU's calibration (0 before it).
u64 tsc_hz();
TscRate tsc_rate();
// Pure: the rate CPUID 0x15's registers give (eax denominator, ebx numerator, ecx the
// crystal in Hz), 0 when any is 0.
constexpr u64 tsc_hz_from_leaf15(u32 eax, u32 ebx, u32 ecx) {
    return eax == 0 || ebx == 0 || ecx == 0 ? 0 : static_cast<u64>(ecx) * ebx / eax;
}

// SDM Vol. 2A CPUID 15H: TSC = crystal x EBX / EAX (a 24 MHz crystal, ratio 166/2).
static_assert(tsc_hz_from_leaf15(2, 166, 24000000) == 1992000000ull);
static_assert(tsc_hz_from_leaf15(2, 166, 0) == 0);

} // namespace keel::x86
