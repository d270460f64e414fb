#include <gtest/gtest.h>

#include "hypervisor/cmdline.hpp"

using keel::Cmdline;

TEST(Cmdline, FindsFlagsAndValues) {
    Cmdline c("  console=pl011 keel.test=fault  verbose\tlast=1");
    EXPECT_TRUE(c.has("verbose"));
    EXPECT_TRUE(c.has("console"));
    EXPECT_TRUE(c.value_is("keel.test", "fault"));
    EXPECT_FALSE(c.value_is("keel.test", "faul"));
    EXPECT_FALSE(c.value_is("keel.test", "faults"));
    char v[8];
    ASSERT_TRUE(c.value("last", v, sizeof v));
    EXPECT_STREQ(v, "1");
    EXPECT_FALSE(c.value("verbose", v, sizeof v)); // flag without value
}

TEST(Cmdline, RejectsPrefixesAndOverlongValues) {
    Cmdline c("keel.testing=1 console=a-very-long-value");
    EXPECT_FALSE(c.has("keel.test"));
    char small[4];
    EXPECT_FALSE(c.value("console", small, sizeof small));
    EXPECT_FALSE(Cmdline(nullptr).has("x"));
    EXPECT_FALSE(Cmdline("").has(""));
}

// Decimal values: digits only, 1 to 15 of them, inside the caller's bounds; anything else
// leaves the caller's default.
TEST(Cmdline, NumbersAreDecimalAndBounded) {
    Cmdline c("a=3000 b=0 c=12x d= e f=4294967296 g=000000000000007 h=0000000000000007 i=-1");
    keel::u64 n = 77;
    ASSERT_TRUE(c.number("a", 1, 3600000, &n));
    EXPECT_EQ(n, 3000u);
    n = 77;
    EXPECT_FALSE(c.number("b", 1, 10, &n)) << "below the minimum";
    EXPECT_TRUE(c.number("b", 0, 10, &n));
    EXPECT_EQ(n, 0u);
    n = 77;
    for (const char* bad : {"c", "d", "e", "i", "missing"})
        EXPECT_FALSE(c.number(bad, 0, ~0ull, &n)) << bad;
    EXPECT_FALSE(c.number("f", 1, 0xffffffffu, &n)) << "above the maximum";
    EXPECT_TRUE(c.number("f", 1, ~0ull, &n));
    EXPECT_EQ(n, 4294967296u);
    EXPECT_TRUE(c.number("g", 1, 10, &n)) << "15 digits";
    EXPECT_EQ(n, 7u);
    n = 77;
    EXPECT_FALSE(c.number("h", 1, 10, &n)) << "16 digits";
    EXPECT_EQ(n, 77u);
}
