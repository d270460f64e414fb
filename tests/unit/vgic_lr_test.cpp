// The virtual GIC's list-register planning (arch/arm64/vgic_lr.hpp), on the host.
#include <gtest/gtest.h>

#include "arch/arm64/vgic_lr.hpp"

using namespace keel;
using namespace keel::arm64;
using namespace keel::arm64::gic;

namespace {

struct Prio {
    u8 p[kVgicIntids];
    Prio() {
        for (u32 i = 0; i < kVgicIntids; ++i)
            p[i] = 0xa0;
    }
};

LrPlan plan(u32 n) {
    LrPlan p;
    p.n = n;
    return p;
}

u64 state(u64 lr) { return lr & kLrStateMask; }
u64 vintid(u64 lr) { return lr & kLrVintidMask; }

} // namespace

TEST(VgicLr, ListsPendingIntoFreeRegisters) {
    Prio pr;
    pr.p[1] = 0x80;
    LrPlan p = plan(4);
    lr_plan(p, (1ull << 1) | (1ull << 33), 0, ~0ull, pr.p, pr.p + 32);
    EXPECT_EQ(vintid(p.lr[0]), 1u);
    EXPECT_EQ(state(p.lr[0]), kLrStatePending);
    EXPECT_EQ((p.lr[0] >> kLrPriorityShift) & 0xff, 0x80u);
    EXPECT_TRUE(p.lr[0] & kLrGroup1);
    EXPECT_FALSE(p.lr[0] & kLrEoi); // edge: no maintenance
    EXPECT_EQ(vintid(p.lr[1]), 33u);
    EXPECT_EQ(p.dirty, 3u);
    EXPECT_EQ(p.consumed, (1ull << 1) | (1ull << 33));
    EXPECT_FALSE(p.waiting);
}

TEST(VgicLr, VirtualTimerIsHardwareLinked) {
    Prio pr;
    LrPlan p = plan(4);
    lr_plan(p, 1ull << kPpiVirtTimer, 0, ~0ull, pr.p, pr.p + 32);
    EXPECT_TRUE(p.lr[0] & kLrHw);
    EXPECT_EQ((p.lr[0] >> kLrPintidShift) & 0x1fff, kPpiVirtTimer);
    EXPECT_FALSE(p.lr[0] & kLrEoi); // HW=1: EOI would mean something else (12.5.8)
}

// Issue 10 item 15: the EL1 physical timer's PPI 30 is forwarded like the virtual timer's
// (the guest's deactivation of virtual INTID 30 deactivates physical INTID 30).
TEST(VgicLr, PhysicalTimerIsHardwareLinked) {
    Prio pr;
    LrPlan p = plan(4);
    lr_plan(p, 1ull << 30, 0, ~0ull, pr.p, pr.p + 32);
    EXPECT_EQ(vintid(p.lr[0]), 30u);
    EXPECT_TRUE(p.lr[0] & kLrHw);
    EXPECT_EQ((p.lr[0] >> kLrPintidShift) & 0x1fff, 30u);
    EXPECT_FALSE(p.lr[0] & kLrEoi);
    LrPlan q = plan(4); // another PPI is not linked to anything physical
    lr_plan(q, 1ull << 29, 0, ~0ull, pr.p, pr.p + 32);
    EXPECT_FALSE(q.lr[0] & kLrHw);
}

TEST(VgicLr, LevelInterruptAsksForEoiMaintenance) {
    Prio pr;
    LrPlan p = plan(4);
    lr_plan(p, 1ull << 33, 1ull << 33, ~0ull, pr.p, pr.p + 32);
    EXPECT_TRUE(p.lr[0] & kLrEoi);
    // Still high while the guest handles it (active): keep EOI, nothing new listed.
    p.lr[0] = (p.lr[0] & ~kLrStateMask) | kLrStateActive;
    p.dirty = 0;
    p.consumed = 0;
    lr_plan(p, 1ull << 33, 1ull << 33, ~0ull, pr.p, pr.p + 32);
    EXPECT_EQ(p.dirty, 0u);
    EXPECT_EQ(state(p.lr[0]), kLrStateActive);
    EXPECT_EQ(state(p.lr[1]), 0u);
}

// The hang's second ingredient: an SGI arrives again while the guest still has it
// active. It becomes Active+Pending in place, with no maintenance interrupt involved.
TEST(VgicLr, EdgeWhileActiveBecomesActivePending) {
    Prio pr;
    LrPlan p = plan(4);
    p.lr[2] = 3 | kLrStateActive | kLrGroup1 | (0xa0ull << kLrPriorityShift);
    lr_plan(p, 1ull << 3, 0, ~0ull, pr.p, pr.p + 32);
    EXPECT_EQ(state(p.lr[2]), kLrStatePending | kLrStateActive);
    EXPECT_FALSE(p.lr[2] & kLrEoi);
    EXPECT_EQ(p.dirty, 1u << 2);
    EXPECT_EQ(p.consumed, 1ull << 3);
    EXPECT_EQ(p.lr[0], 0u); // not listed twice
}

TEST(VgicLr, EdgeWhilePendingMerges) {
    Prio pr;
    LrPlan p = plan(4);
    p.lr[0] = 5 | kLrStatePending;
    lr_plan(p, 1ull << 5, 0, ~0ull, pr.p, pr.p + 32);
    EXPECT_EQ(p.dirty, 0u);
    EXPECT_EQ(p.consumed, 1ull << 5);
    EXPECT_EQ(p.lr[1], 0u);
}

TEST(VgicLr, HardwareTimerStaysPendingWhileListed) {
    Prio pr;
    LrPlan p = plan(4);
    p.lr[0] = kPpiVirtTimer | kLrStateActive | kLrHw | (u64(kPpiVirtTimer) << kLrPintidShift);
    lr_plan(p, 1ull << kPpiVirtTimer, 0, ~0ull, pr.p, pr.p + 32);
    EXPECT_EQ(p.dirty, 0u);
    EXPECT_EQ(p.consumed, 0u);
}

TEST(VgicLr, FreesDeactivatedRegistersAndClearsTheirEoi) {
    Prio pr;
    LrPlan p = plan(4);
    p.lr[1] = 33 | kLrEoi; // Invalid + EOI: the guest deactivated it (ICH_EISR_EL2 bit)
    lr_plan(p, 0, 0, ~0ull, pr.p, pr.p + 32);
    EXPECT_EQ(p.lr[1], 0u);
    EXPECT_EQ(p.dirty, 1u << 1);
}

TEST(VgicLr, WaitsWhenRegistersAreFull) {
    Prio pr;
    LrPlan p = plan(2);
    lr_plan(p, 0b111, 0, ~0ull, pr.p, pr.p + 32);
    EXPECT_TRUE(p.waiting);
    EXPECT_EQ(p.consumed, 0b011u); // INTID 2 keeps its pending bit
    EXPECT_EQ(vintid(p.lr[0]), 0u);
    EXPECT_EQ(vintid(p.lr[1]), 1u);
}

TEST(VgicLr, Group0WhenIgrouprClear) {
    Prio pr;
    LrPlan p = plan(4);
    lr_plan(p, 1ull << 4, 0, 0, pr.p, pr.p + 32);
    EXPECT_FALSE(p.lr[0] & kLrGroup1);
}
