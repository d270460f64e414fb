// The VMs' CMOS real-time clock (arch/x86_64/virt/rtc.*) against the MC146818A data sheet
// (registers 0x00-0x0d: BCD or binary by register B's DM bit, 12-hour with bit 7 = PM,
// day of week 1-7 from Sunday, register A's UIP, register D's VRT) and the calendar
// against Python's calendar.timegm/datetime (independent of this code): the Unix seconds
// and weekdays below were computed there.
#include <gtest/gtest.h>

#include "arch/x86_64/virt/rtc.hpp"

using namespace keel;
using namespace keel::virt;

namespace {

struct Known {
    u64 unix_seconds;
    CivilTime t;
};
// calendar.timegm(datetime(...).timetuple()); weekday = isoweekday() % 7 + 1.
constexpr Known kKnown[] = {
    {0, {1970, 1, 1, 0, 0, 0, 5}},
    {951827696, {2000, 2, 29, 12, 34, 56, 3}},
    {946684799, {1999, 12, 31, 23, 59, 59, 6}},
    {1709251199, {2024, 2, 29, 23, 59, 59, 5}},
    {1796193924, {2026, 12, 2, 6, 45, 24, 4}},
    {4107542400, {2100, 3, 1, 0, 0, 0, 2}}, // 2100 is not a leap year
};

u8 reg(Rtc& r, u8 index, u64 tsc) {
    rtc_write(r, kRtcIndexPort, index);
    return rtc_read(r, kRtcDataPort, tsc);
}

} // namespace

TEST(X86Rtc, CalendarBothWays) {
    for (const Known& k : kKnown) {
        const CivilTime t = civil_from_unix(k.unix_seconds);
        EXPECT_EQ(t.year, k.t.year) << k.unix_seconds;
        EXPECT_EQ(t.month, k.t.month) << k.unix_seconds;
        EXPECT_EQ(t.day, k.t.day) << k.unix_seconds;
        EXPECT_EQ(t.hour, k.t.hour) << k.unix_seconds;
        EXPECT_EQ(t.minute, k.t.minute) << k.unix_seconds;
        EXPECT_EQ(t.second, k.t.second) << k.unix_seconds;
        EXPECT_EQ(t.weekday, k.t.weekday) << k.unix_seconds;
        u64 back = 1;
        ASSERT_TRUE(unix_from_civil(k.t, &back));
        EXPECT_EQ(back, k.unix_seconds);
    }
}

TEST(X86Rtc, CalendarRefusesImpossibleDates) {
    u64 s = 0;
    EXPECT_FALSE(unix_from_civil({2023, 2, 29, 0, 0, 0, 1}, &s)); // not a leap year
    EXPECT_FALSE(unix_from_civil({2100, 2, 29, 0, 0, 0, 1}, &s));
    EXPECT_TRUE(unix_from_civil({2000, 2, 29, 0, 0, 0, 1}, &s)); // 400-year rule
    EXPECT_FALSE(unix_from_civil({2026, 4, 31, 0, 0, 0, 1}, &s));
    EXPECT_FALSE(unix_from_civil({2026, 13, 1, 0, 0, 0, 1}, &s));
    EXPECT_FALSE(unix_from_civil({2026, 0, 1, 0, 0, 0, 1}, &s));
    EXPECT_FALSE(unix_from_civil({2026, 1, 1, 24, 0, 0, 1}, &s));
    EXPECT_FALSE(unix_from_civil({2026, 1, 1, 0, 60, 0, 1}, &s));
    EXPECT_FALSE(unix_from_civil({2026, 1, 1, 0, 0, 60, 1}, &s));
    EXPECT_FALSE(unix_from_civil({1969, 12, 31, 23, 59, 59, 4}, &s));
}

// Power-on format: 24-hour BCD. 2026-12-02 06:45:24, a Wednesday (4).
TEST(X86Rtc, ReadsBcdTwentyFourHour) {
    Rtc r;
    rtc_reset(r, 1796193924, 1000, 100);
    EXPECT_EQ(reg(r, 0x0b, 1000), kRtcB24Hour);
    EXPECT_EQ(reg(r, 0x00, 1000), 0x24);
    EXPECT_EQ(reg(r, 0x02, 1000), 0x45);
    EXPECT_EQ(reg(r, 0x04, 1000), 0x06);
    EXPECT_EQ(reg(r, 0x06, 1000), 0x04);
    EXPECT_EQ(reg(r, 0x07, 1000), 0x02);
    EXPECT_EQ(reg(r, 0x08, 1000), 0x12);
    EXPECT_EQ(reg(r, 0x09, 1000), 0x26);
    EXPECT_EQ(reg(r, 0x32, 1000), 0x20);
    // Status: UIP clear with the 32.768 kHz divider, no interrupt flags, VRT set.
    EXPECT_EQ(reg(r, 0x0a, 1000), 0x26);
    EXPECT_EQ(reg(r, 0x0c, 1000), 0x00);
    EXPECT_EQ(reg(r, 0x0d, 1000), 0x80);
    // Alarms and the rest of the CMOS: 0.
    EXPECT_EQ(reg(r, 0x01, 1000), 0x00);
    EXPECT_EQ(reg(r, 0x0e, 1000), 0x00);
    EXPECT_EQ(reg(r, 0x7f, 1000), 0x00);
}

// The clock runs from the TSC: 100 ticks a second here; 36 s later the minute carries.
TEST(X86Rtc, RunsFromTheTsc) {
    Rtc r;
    rtc_reset(r, 1796193924, 1000, 100);
    EXPECT_EQ(reg(r, 0x00, 1000 + 99), 0x24);
    EXPECT_EQ(reg(r, 0x00, 1000 + 100), 0x25);
    EXPECT_EQ(reg(r, 0x00, 1000 + 3600), 0x00);
    EXPECT_EQ(reg(r, 0x02, 1000 + 3600), 0x46);
    // A rate of 0 stands still; a TSC before the base reads the base.
    Rtc still;
    rtc_reset(still, 1796193924, 1000, 0);
    EXPECT_EQ(reg(still, 0x00, 1000000), 0x24);
    EXPECT_EQ(reg(r, 0x00, 10), 0x24);
}

TEST(X86Rtc, BinaryAndTwelveHourFormats) {
    Rtc r;
    rtc_reset(r, 951827696, 0, 1); // 2000-02-29 12:34:56: 12 PM
    rtc_write(r, kRtcIndexPort, 0x0b);
    rtc_write(r, kRtcDataPort, kRtcBBinary); // binary, 12-hour
    EXPECT_EQ(reg(r, 0x00, 0), 56);
    EXPECT_EQ(reg(r, 0x04, 0), 0x80 | 12);
    EXPECT_EQ(reg(r, 0x09, 0), 0);
    EXPECT_EQ(reg(r, 0x32, 0), 20);
    EXPECT_EQ(reg(r, 0x04, 12 * 3600), 12u); // 2000-03-01 00:34:56: 12 AM, bit 7 clear
    rtc_write(r, kRtcIndexPort, 0x0b);
    rtc_write(r, kRtcDataPort, 0); // BCD, 12-hour: 1 PM reads 0x81
    EXPECT_EQ(reg(r, 0x04, 3600), 0x81);
}

// Interrupt enables (PIE 0x40, AIE 0x20, UIE 0x10, SQWE 0x08) read back clear: no IRQ 8
// is wired. The index port's bit 7 (NMI mask) never reaches a register.
TEST(X86Rtc, GuestWritesThatDoNothing) {
    Rtc r;
    rtc_reset(r, 1796193924, 0, 1);
    rtc_write(r, kRtcIndexPort, 0x0b);
    rtc_write(r, kRtcDataPort, 0x7e);
    EXPECT_EQ(reg(r, 0x0b, 0), kRtcBBinary | kRtcB24Hour);
    rtc_write(r, kRtcIndexPort, 0x00);
    rtc_write(r, kRtcDataPort, 0x00); // setting the time: dropped
    EXPECT_EQ(reg(r, 0x00, 0), 24);
    rtc_write(r, kRtcIndexPort, 0x80 | 0x0d);
    EXPECT_EQ(rtc_read(r, kRtcDataPort, 0), 0x80);
    EXPECT_EQ(rtc_read(r, kRtcIndexPort, 0), 0xff);
}

// The platform's RTC registers to Unix seconds, as the boot CPU reads them.
TEST(X86Rtc, PlatformRegistersToUnix) {
    u64 s = 0;
    // BCD 24-hour: 2026-12-02 06:45:24, century 0x20.
    ASSERT_TRUE(unix_from_rtc_registers({0x24, 0x45, 0x06, 0x02, 0x12, 0x26, 0x20}, 0x02, &s));
    EXPECT_EQ(s, 1796193924u);
    // Binary 12-hour, 12:34:56 PM on 2000-02-29; century byte 0 (absent) counts as 20.
    ASSERT_TRUE(unix_from_rtc_registers({56, 34, 0x80 | 12, 29, 2, 0, 0}, 0x04, &s));
    EXPECT_EQ(s, 951827696u);
    // 12 AM is hour 0: 1999-12-31 00:00:00 with century 19 = 946598400.
    ASSERT_TRUE(unix_from_rtc_registers({0, 0, 0x12, 0x31, 0x12, 0x99, 0x19}, 0x00, &s));
    EXPECT_EQ(s, 946598400u);
    // No valid time: a BCD digit above 9, hour 13 in 12-hour mode, day 0, month 13.
    EXPECT_FALSE(unix_from_rtc_registers({0x1a, 0, 0, 1, 1, 0x26, 0x20}, 0x02, &s));
    EXPECT_FALSE(unix_from_rtc_registers({0, 0, 0x13, 1, 1, 0x26, 0x20}, 0x00, &s));
    EXPECT_FALSE(unix_from_rtc_registers({0, 0, 0, 0, 1, 0x26, 0x20}, 0x02, &s));
    EXPECT_FALSE(unix_from_rtc_registers({0, 0, 0, 1, 0x13, 0x26, 0x20}, 0x02, &s));
    // An unprogrammed RTC: all-ones.
    EXPECT_FALSE(unix_from_rtc_registers({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0x02, &s));
}
