// The by-VA cache-maintenance range (arch/arm64/cache_range.hpp), against ranges worked
// out by hand: a 64-byte line, a 2 MiB window at 0x7fc0200000.
#include <gtest/gtest.h>

#include "arch/arm64/cache_range.hpp"

namespace keel::arm64 {
namespace {

constexpr u64 kWin = 0x7fc0200000, kEnd = kWin + 0x200000, kLine = 64;

TEST(CacheRange, ACopyEndingOnTheWindowEndStopsThere) {
    // The last 100 bytes of the window: lines 0x...1fff80 and 0x...1fffc0, nothing past it.
    const LineRange r = line_range(kEnd - 100, 100, kLine);
    EXPECT_EQ(r.first, kEnd - 128);
    EXPECT_EQ(r.end, kEnd);
    // The whole window, exactly.
    const LineRange w = line_range(kWin, 0x200000, kLine);
    EXPECT_EQ(w.first, kWin);
    EXPECT_EQ(w.end, kEnd);
}

TEST(CacheRange, PartialLinesAtBothEndsAreIncluded) {
    const LineRange r = line_range(kWin + 10, 60, kLine); // bytes 10..69: lines 0 and 1
    EXPECT_EQ(r.first, kWin);
    EXPECT_EQ(r.end, kWin + 128);
    const LineRange one = line_range(kWin + 63, 1, kLine);
    EXPECT_EQ(one.first, kWin);
    EXPECT_EQ(one.end, kWin + 64);
}

TEST(CacheRange, EmptyRangeVisitsNothing) {
    const LineRange r = line_range(kWin + 5, 0, kLine);
    EXPECT_EQ(r.first, r.end);
}

} // namespace
} // namespace keel::arm64
