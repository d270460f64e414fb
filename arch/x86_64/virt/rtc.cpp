#include "rtc.hpp"

namespace keel::virt {
namespace {

constexpr u64 kSecondsPerDay = 86400;
// Days from 1970-01-01 to 2000-03-01 is not used; the computation counts in 400-year
// eras that start on March 1st, so February's leap day ends each year of the era.
constexpr u64 kDaysPerEra = 146097; // 400 Gregorian years
constexpr u64 kEpochShift = 719468; // days from 0000-03-01 to 1970-01-01

bool leap(u32 y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

u8 days_in_month(u32 y, u8 m) {
    constexpr u8 kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

u8 bcd(u8 v) { return static_cast<u8>((v / 10) << 4 | (v % 10)); }

// Registers 0x00-0x09 and 0x32 of `t` in the format register B selects.
u8 time_register(const CivilTime& t, u8 index, u8 reg_b) {
    const bool binary = reg_b & kRtcBBinary;
    const auto enc = [binary](u8 v) { return binary ? v : bcd(v); };
    switch (index) {
    case 0x00: return enc(t.second);
    case 0x02: return enc(t.minute);
    case 0x04: {
        if (reg_b & kRtcB24Hour) return enc(t.hour);
        const u8 h12 = t.hour % 12 == 0 ? 12 : static_cast<u8>(t.hour % 12);
        return static_cast<u8>(enc(h12) | (t.hour >= 12 ? 0x80 : 0)); // bit 7: PM
    }
    case 0x06: return enc(t.weekday);
    case 0x07: return enc(t.day);
    case 0x08: return enc(t.month);
    case 0x09: return enc(static_cast<u8>(t.year % 100));
    case 0x32: return enc(static_cast<u8>(t.year / 100 % 100));
    default: return 0; // the alarm registers 0x01, 0x03, 0x05
    }
}

} // namespace

CivilTime civil_from_unix(u64 seconds) {
    const u64 days = seconds / kSecondsPerDay, rem = seconds % kSecondsPerDay;
    CivilTime t{};
    t.hour = static_cast<u8>(rem / 3600);
    t.minute = static_cast<u8>(rem / 60 % 60);
    t.second = static_cast<u8>(rem % 60);
    t.weekday = static_cast<u8>((days + 4) % 7 + 1); // 1970-01-01 was a Thursday (5)
    const u64 z = days + kEpochShift;
    const u64 era = z / kDaysPerEra, doe = z % kDaysPerEra;
    const u64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; // year of era
    const u64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               // from March 1st
    const u64 mp = (5 * doy + 2) / 153;                                    // March = 0
    t.day = static_cast<u8>(doy - (153 * mp + 2) / 5 + 1);
    t.month = static_cast<u8>(mp < 10 ? mp + 3 : mp - 9);
    t.year = static_cast<u32>(era * 400 + yoe + (t.month <= 2 ? 1 : 0));
    return t;
}

bool unix_from_civil(const CivilTime& t, u64* seconds) {
    if (t.year < 1970 || t.month < 1 || t.month > 12 || t.day < 1 ||
        t.day > days_in_month(t.year, t.month) || t.hour > 23 || t.minute > 59 || t.second > 59)
        return false;
    u64 days = 0;
    for (u32 y = 1970; y < t.year; ++y)
        days += leap(y) ? 366u : 365u;
    for (u8 m = 1; m < t.month; ++m)
        days += days_in_month(t.year, m);
    days += t.day - 1u;
    *seconds = days * kSecondsPerDay + t.hour * 3600u + t.minute * 60u + t.second;
    return true;
}

bool unix_from_rtc_registers(const u8 (&regs)[7], u8 reg_b, u64* seconds) {
    const bool binary = reg_b & kRtcBBinary;
    bool ok = true;
    const auto dec = [binary, &ok](u8 v) -> u8 {
        if (binary) return v;
        if ((v & 0xf) > 9 || (v >> 4) > 9) ok = false;
        return static_cast<u8>((v >> 4) * 10 + (v & 0xf));
    };
    u8 hour = dec(static_cast<u8>(regs[2] & 0x7f));
    if (!(reg_b & kRtcB24Hour)) { // 1-12, bit 7 = PM
        if (hour < 1 || hour > 12) return false;
        hour = static_cast<u8>(hour % 12 + ((regs[2] & 0x80) ? 12 : 0));
    }
    const u8 century = dec(regs[6]);
    CivilTime t{};
    t.second = dec(regs[0]);
    t.minute = dec(regs[1]);
    t.hour = hour;
    t.day = dec(regs[3]);
    t.month = dec(regs[4]);
    t.year = (ok && (century == 19 || century == 20) ? century : 20u) * 100u + dec(regs[5]);
    return ok && unix_from_civil(t, seconds);
}

void rtc_reset(Rtc& r, u64 unix_seconds, u64 tsc, u64 tsc_hz) {
    r = Rtc{};
    r.reg_b = kRtcB24Hour;
    r.base_unix = unix_seconds;
    r.base_tsc = tsc;
    r.tsc_hz = tsc_hz;
}

void rtc_write(Rtc& r, u16 port, u8 value) {
    if (port == kRtcIndexPort) {
        r.index = value & 0x7f; // bit 7 gates the platform's NMIs: not the VM's to change
        return;
    }
    if (r.index == 0x0b) r.reg_b = value & (kRtcBSet | kRtcBBinary | kRtcB24Hour);
}

u8 rtc_read(const Rtc& r, u16 port, u64 tsc_now) {
    if (port == kRtcIndexPort) return 0xff; // write-only on the PC/AT
    switch (r.index) {
    case 0x0a: return 0x26; // 32.768 kHz time base, 1,024 Hz rate; UIP clear
    case 0x0b: return r.reg_b;
    case 0x0c: return 0;    // no interrupt flags
    case 0x0d: return 0x80; // VRT: valid RAM and time
    default: break;
    }
    if (r.index > 0x09 && r.index != 0x32) return 0;
    const u64 elapsed =
        r.tsc_hz == 0 || tsc_now < r.base_tsc ? 0 : (tsc_now - r.base_tsc) / r.tsc_hz;
    return time_register(civil_from_unix(r.base_unix + elapsed), r.index, r.reg_b);
}

} // namespace keel::virt
