// The MC146818 real-time clock a PC guest reads its wall-clock time from (Motorola
// MC146818A data sheet; the PC/AT's CMOS: index at port 0x70, data at 0x71): Linux reads
// it at boot (arch/x86/kernel/rtc.c mach_get_cmos_time) and, when registers 0x0a-0x0d do
// not answer like a clock, waits up to a second for an update that never ends. Read-only
// time: registers 0x00-0x09 and the century byte 0x32 give the host's wall clock
// (cmos_clock.hpp) plus the TSC time since it was read; what a guest writes there is
// dropped (the time is the platform's, not the VM's). Register B keeps the guest's data
// mode (BCD or binary), 12/24-hour and SET bits; its interrupt enables read back clear,
// as no IRQ 8 is wired. Register A never shows an update in progress (UIP): every read
// is a consistent snapshot. Register D says the time is valid (VRT). The rest of the
// CMOS reads 0. Pure (tests/unit/x86_rtc_test.cpp).
#pragma once

#include "hypervisor/types.hpp"

namespace keel::virt {

// A calendar time, UTC (the civil calendar: proleptic Gregorian).
struct CivilTime {
    u32 year;   // 1970..
    u8 month;   // 1-12
    u8 day;     // 1-31
    u8 hour;    // 0-23
    u8 minute;  // 0-59
    u8 second;  // 0-59
    u8 weekday; // 1-7, Sunday = 1 (the RTC's day-of-week register)
};
CivilTime civil_from_unix(u64 seconds);
// Unix seconds of a calendar time; false when a field is out of range (month 13, day 31
// of a 30-day month, second 60, year before 1970).
bool unix_from_civil(const CivilTime& t, u64* seconds);

// The platform RTC's time registers (0x00 seconds, 0x02 minutes, 0x04 hours, 0x07 day,
// 0x08 month, 0x09 year, 0x32 century) as read, in the format register B says, to Unix
// seconds; a century byte that is not 19 or 20 counts as 20. False when they hold no
// valid time.
bool unix_from_rtc_registers(const u8 (&regs)[7], u8 reg_b, u64* seconds);

inline constexpr u16 kRtcIndexPort = 0x70, kRtcDataPort = 0x71;

struct Rtc {
    u8 index;      // the register port 0x71 reaches (bits 6:0 of the last 0x70 write)
    u8 reg_b;      // kRtcB* bits the guest set
    u64 base_unix; // wall-clock seconds at base_tsc
    u64 base_tsc;
    u64 tsc_hz;
};
inline constexpr u8 kRtcBSet = 0x80, kRtcBBinary = 0x04, kRtcB24Hour = 0x02;

// Register B as at power-on of a PC (24-hour, BCD); the clock at `unix_seconds` when the
// TSC reads `tsc` (a rate of 0: the clock stands still).
void rtc_reset(Rtc& r, u64 unix_seconds, u64 tsc, u64 tsc_hz);
void rtc_write(Rtc& r, u16 port, u8 value);
u8 rtc_read(const Rtc& r, u16 port, u64 tsc_now);

} // namespace keel::virt
