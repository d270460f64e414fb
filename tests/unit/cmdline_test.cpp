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
