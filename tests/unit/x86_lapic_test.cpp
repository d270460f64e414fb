// The virtual local APIC (arch/x86_64/virt/lapic.*) against the SDM, Vol. 3A ch. 11:
// power-up state (11.4.7.1), the timer's divide configuration (figure 11-10), one-shot
// and periodic counting (11.5.4), TSC-deadline mode (11.5.4.1), task and processor
// priority (11.8.3.1), IRR/ISR/EOI (11.8.4, 11.8.5), software disable (11.4.7.2), the
// x2APIC register rules (11.12.1, 11.12.9: #GP cases), logical destinations (11.12.10.2)
// and the xAPIC registers (11.4.1, 11.6.2.2). Expected values are worked out from those
// sections, not read back from the code.
#include <gtest/gtest.h>

#include "arch/x86_64/virt/lapic.hpp"

using namespace keel;
using namespace keel::virt;

namespace {

u64 rd(const Lapic& a, u32 reg, u64 now = 0) {
    u64 v = ~0ull;
    EXPECT_EQ(lapic_read(a, reg, now, &v), LapicResult::Ok) << "reg " << reg;
    return v;
}

Lapic enabled_apic(u32 id = 0) {
    Lapic a;
    lapic_reset(a, id);
    EXPECT_EQ(lapic_write(a, kApicSvr, 0x1ff, 0), LapicResult::Ok); // enable, spurious 0xff
    return a;
}

} // namespace

TEST(X86Lapic, PowerUpStateMasksEveryLvtAndIsSoftwareDisabled) {
    Lapic a;
    lapic_reset(a, 3);
    EXPECT_EQ(rd(a, kApicId), 3u);
    EXPECT_EQ(rd(a, kApicSvr), 0xffu);
    EXPECT_EQ(rd(a, kApicLvtTimer) & kLvtMask, kLvtMask);
    EXPECT_EQ(rd(a, kApicLvtError) & kLvtMask, kLvtMask);
    EXPECT_EQ(rd(a, kApicTpr), 0u);
    // x2APIC LDR (11.12.10.2): cluster id << 16 | 1 << (id & 0xf).
    EXPECT_EQ(rd(a, kApicLdr), 1u << 3);
    lapic_reset(a, 0x23);
    EXPECT_EQ(rd(a, kApicLdr), (2u << 16) | (1u << 3));
    // Nothing is delivered while software disabled, even with a vector in the IRR.
    lapic_post(a, 0x40);
    EXPECT_EQ(lapic_pending(a), -1);
}

TEST(X86Lapic, SoftwareDisableSetsAndKeepsLvtMasks) {
    Lapic a = enabled_apic();
    ASSERT_EQ(lapic_write(a, kApicLvtTimer, 0x30, 0), LapicResult::Ok);
    EXPECT_EQ(rd(a, kApicLvtTimer), 0x30u);
    ASSERT_EQ(lapic_write(a, kApicSvr, 0xff, 0), LapicResult::Ok); // disable
    EXPECT_EQ(rd(a, kApicLvtTimer) & kLvtMask, kLvtMask);
    ASSERT_EQ(lapic_write(a, kApicLvtTimer, 0x30, 0), LapicResult::Ok);
    EXPECT_EQ(rd(a, kApicLvtTimer) & kLvtMask, kLvtMask); // attempts to clear are ignored
}

TEST(X86Lapic, DivideConfigurationFollowsFigure11_10) {
    // Divide value bits 3,1:0: 000 = 2, 001 = 4, 010 = 8, 011 = 16, 1000 = 32, 1001 = 64,
    // 1010 = 128, 1011 = 1. One-shot count 100 at each divisor expires after 100 * d TSC.
    const struct {
        u32 cfg;
        u64 divisor;
    } table[] = {{0x0, 2},  {0x1, 4},  {0x2, 8},   {0x3, 16},
                 {0x8, 32}, {0x9, 64}, {0xa, 128}, {0xb, 1}};
    for (const auto& t : table) {
        Lapic a = enabled_apic();
        ASSERT_EQ(lapic_write(a, kApicDivide, t.cfg, 0), LapicResult::Ok);
        ASSERT_EQ(lapic_write(a, kApicLvtTimer, 0x31, 0), LapicResult::Ok); // one-shot
        ASSERT_EQ(lapic_write(a, kApicInitialCount, 100, 1000), LapicResult::Ok);
        EXPECT_EQ(lapic_timer_next(a), 1000 + 100 * t.divisor) << "cfg " << t.cfg;
        // Half-way through, the current count is half the initial count.
        EXPECT_EQ(rd(a, kApicCurrentCount, 1000 + 50 * t.divisor), 50u) << "cfg " << t.cfg;
    }
}

TEST(X86Lapic, OneShotFiresOnceAndCountsToZero) {
    Lapic a = enabled_apic();
    ASSERT_EQ(lapic_write(a, kApicDivide, 0xb, 0), LapicResult::Ok); // divide by 1
    ASSERT_EQ(lapic_write(a, kApicLvtTimer, 0x31, 0), LapicResult::Ok);
    ASSERT_EQ(lapic_write(a, kApicInitialCount, 1000, 5000), LapicResult::Ok);
    EXPECT_EQ(rd(a, kApicCurrentCount, 5000), 1000u);
    lapic_timer_update(a, 5999);
    EXPECT_EQ(lapic_pending(a), -1); // not yet
    lapic_timer_update(a, 6000);
    EXPECT_EQ(lapic_pending(a), 0x31);
    EXPECT_EQ(rd(a, kApicCurrentCount, 6500), 0u); // 11.5.4: stays 0 in one-shot mode
    EXPECT_EQ(lapic_timer_next(a), 0u);
    lapic_accept(a, 0x31);
    ASSERT_EQ(lapic_write(a, kApicEoi, 0, 0), LapicResult::Ok);
    lapic_timer_update(a, 100000);
    EXPECT_EQ(lapic_pending(a), -1); // once only
    // Writing 0 to the initial count stops the timer.
    ASSERT_EQ(lapic_write(a, kApicInitialCount, 10, 200000), LapicResult::Ok);
    ASSERT_EQ(lapic_write(a, kApicInitialCount, 0, 200001), LapicResult::Ok);
    lapic_timer_update(a, 300000);
    EXPECT_EQ(lapic_pending(a), -1);
}

TEST(X86Lapic, PeriodicReloadsFromTheInitialCount) {
    Lapic a = enabled_apic();
    ASSERT_EQ(lapic_write(a, kApicDivide, 0x0, 0), LapicResult::Ok); // divide by 2
    ASSERT_EQ(lapic_write(a, kApicLvtTimer, (kTimerPeriodic << 17) | 0x32, 0), LapicResult::Ok);
    ASSERT_EQ(lapic_write(a, kApicInitialCount, 500, 0), LapicResult::Ok); // 1000 TSC/period
    // In the third period, 300 TSC in: 500 - 300/2 counts left.
    EXPECT_EQ(rd(a, kApicCurrentCount, 2300), 350u);
    lapic_timer_update(a, 1000);
    EXPECT_EQ(lapic_pending(a), 0x32);
    EXPECT_EQ(lapic_timer_next(a), 2000u);
    lapic_accept(a, 0x32);
    ASSERT_EQ(lapic_write(a, kApicEoi, 0, 0), LapicResult::Ok);
    lapic_timer_update(a, 2000);
    EXPECT_EQ(lapic_pending(a), 0x32);
    // Late by several periods: one interrupt, the next expiry stays on the period grid.
    lapic_accept(a, 0x32);
    ASSERT_EQ(lapic_write(a, kApicEoi, 0, 0), LapicResult::Ok);
    lapic_timer_update(a, 7500);
    EXPECT_EQ(lapic_timer_next(a), 8000u);
}

TEST(X86Lapic, MaskedTimerCountsButDeliversNothing) {
    Lapic a = enabled_apic();
    ASSERT_EQ(lapic_write(a, kApicDivide, 0xb, 0), LapicResult::Ok);
    ASSERT_EQ(lapic_write(a, kApicLvtTimer, kLvtMask | 0x33, 0), LapicResult::Ok);
    ASSERT_EQ(lapic_write(a, kApicInitialCount, 100, 0), LapicResult::Ok);
    EXPECT_EQ(rd(a, kApicCurrentCount, 40), 60u);
    lapic_timer_update(a, 200);
    EXPECT_EQ(lapic_pending(a), -1);
}

TEST(X86Lapic, TscDeadlineMode) {
    Lapic a = enabled_apic();
    // Outside TSC-deadline mode IA32_TSC_DEADLINE writes are ignored and it reads 0.
    lapic_deadline_write(a, 5000);
    EXPECT_EQ(lapic_deadline_read(a), 0u);
    ASSERT_EQ(lapic_write(a, kApicLvtTimer, (kTimerTscDeadline << 17) | 0x34, 0), LapicResult::Ok);
    lapic_deadline_write(a, 5000);
    EXPECT_EQ(lapic_deadline_read(a), 5000u);
    // The initial count is ignored and the current count reads 0 in this mode.
    ASSERT_EQ(lapic_write(a, kApicInitialCount, 100, 0), LapicResult::Ok);
    EXPECT_EQ(rd(a, kApicInitialCount), 0u);
    EXPECT_EQ(rd(a, kApicCurrentCount, 10), 0u);
    lapic_timer_update(a, 4999);
    EXPECT_EQ(lapic_pending(a), -1);
    lapic_timer_update(a, 5000);
    EXPECT_EQ(lapic_pending(a), 0x34);
    EXPECT_EQ(lapic_deadline_read(a), 0u); // disarmed once it fires
    // Writing 0 disarms; leaving the mode disarms too.
    lapic_deadline_write(a, 9000);
    lapic_deadline_write(a, 0);
    EXPECT_EQ(lapic_timer_next(a), 0u);
    lapic_deadline_write(a, 9000);
    ASSERT_EQ(lapic_write(a, kApicLvtTimer, 0x34, 0), LapicResult::Ok); // one-shot
    EXPECT_EQ(lapic_timer_next(a), 0u);
}

TEST(X86Lapic, PriorityFromTprAndInService) {
    Lapic a = enabled_apic();
    // PPR = TPR when TPR[7:4] >= ISRV[7:4], else ISRV[7:4] << 4.
    ASSERT_EQ(lapic_write(a, kApicTpr, 0x45, 0), LapicResult::Ok);
    EXPECT_EQ(lapic_ppr(a), 0x45u);
    lapic_post(a, 0x4f); // same class as TPR: held
    EXPECT_EQ(lapic_pending(a), -1);
    lapic_post(a, 0x51);
    EXPECT_EQ(lapic_pending(a), 0x51);
    lapic_accept(a, 0x51);
    EXPECT_EQ(rd(a, kApicIsr0 + 2) & (1u << 0x11), 1u << 0x11); // vector 0x51: ISR word 2
    EXPECT_EQ(lapic_ppr(a), 0x50u);
    lapic_post(a, 0x55); // same class as the one in service: held
    EXPECT_EQ(lapic_pending(a), -1);
    lapic_post(a, 0x90);
    EXPECT_EQ(lapic_pending(a), 0x90); // a higher class nests
    lapic_accept(a, 0x90);
    // EOI retires the highest in-service vector first.
    ASSERT_EQ(lapic_write(a, kApicEoi, 0, 0), LapicResult::Ok);
    EXPECT_EQ(lapic_ppr(a), 0x50u);
    ASSERT_EQ(lapic_write(a, kApicEoi, 0, 0), LapicResult::Ok);
    EXPECT_EQ(lapic_ppr(a), 0x45u);
    EXPECT_EQ(lapic_pending(a), 0x55);
    // TPR 0: the lower class becomes deliverable once 0x55 is out of the way.
    ASSERT_EQ(lapic_write(a, kApicTpr, 0, 0), LapicResult::Ok);
    lapic_accept(a, 0x55);
    ASSERT_EQ(lapic_write(a, kApicEoi, 0, 0), LapicResult::Ok);
    EXPECT_EQ(lapic_pending(a), 0x4f);
}

TEST(X86Lapic, IllegalVectorsNeverReachTheIrr) {
    Lapic a = enabled_apic();
    lapic_post(a, 15); // 0-15 are illegal (11.5.3)
    EXPECT_EQ(rd(a, kApicIrr0), 0u);
    EXPECT_EQ(lapic_pending(a), -1);
}

TEST(X86Lapic, X2apicGeneralProtectionCases) {
    Lapic a = enabled_apic();
    u64 v = 0;
    // Write-only registers read #GP; read-only ones write #GP (11.12.1.2).
    EXPECT_EQ(lapic_read(a, kApicEoi, 0, &v), LapicResult::Refused);
    EXPECT_EQ(lapic_read(a, kApicSelfIpi, 0, &v), LapicResult::Refused);
    EXPECT_EQ(lapic_write(a, kApicId, 1, 0), LapicResult::Refused);
    EXPECT_EQ(lapic_write(a, kApicPpr, 0, 0), LapicResult::Refused);
    EXPECT_EQ(lapic_write(a, kApicLdr, 0, 0), LapicResult::Refused);
    EXPECT_EQ(lapic_write(a, kApicCurrentCount, 0, 0), LapicResult::Refused);
    // A non-zero EOI and a non-zero ESR write are #GP in x2APIC mode.
    EXPECT_EQ(lapic_write(a, kApicEoi, 1, 0), LapicResult::Refused);
    EXPECT_EQ(lapic_write(a, kApicEsr, 1, 0), LapicResult::Refused);
    // Reserved bits: TPR above 7:0, ICR bit 13 / 16-17 / 20-31, divide bit 2.
    EXPECT_EQ(lapic_write(a, kApicTpr, 0x100, 0), LapicResult::Refused);
    EXPECT_EQ(lapic_write(a, kApicIcr, 1u << 13, 0), LapicResult::Refused);
    EXPECT_EQ(lapic_write(a, kApicIcr, 1u << 20, 0), LapicResult::Refused);
    EXPECT_EQ(lapic_write(a, kApicDivide, 0x4, 0), LapicResult::Refused);
    // The gap between ISR/TMR/IRR and the LVTs is not a register.
    EXPECT_EQ(lapic_read(a, 0x04, 0, &v), LapicResult::Refused);
}

TEST(X86Lapic, IcrAndSelfIpi) {
    Lapic a = enabled_apic();
    // A fixed IPI, vector 0x40, to x2APIC id 2: destination in 63:32.
    const u64 icr = (2ull << 32) | 0x40;
    ASSERT_EQ(lapic_write(a, kApicIcr, icr, 0), LapicResult::SendIpi);
    EXPECT_EQ(lapic_icr_of(a, kApicIcr, icr), icr);
    EXPECT_EQ(rd(a, kApicIcr), icr); // delivery status (12) reads idle
    // SELF IPI (0x83f): vector in 7:0, shorthand "self" (18), edge; 8-63 reserved.
    ASSERT_EQ(lapic_write(a, kApicSelfIpi, 0x41, 0), LapicResult::SendIpi);
    const u64 self = lapic_icr_of(a, kApicSelfIpi, 0x41);
    EXPECT_EQ(self & 0xff, 0x41u);
    EXPECT_EQ((self >> 18) & 3, 1u);
    EXPECT_EQ((self >> 8) & 7, 0u); // fixed
    EXPECT_EQ(lapic_write(a, kApicSelfIpi, 0x141, 0), LapicResult::Refused);
}

TEST(X86Lapic, LogicalDestinations) {
    Lapic a;
    lapic_reset(a, 0x12); // cluster 1, bit 2
    EXPECT_TRUE(lapic_logical_match(a, (1u << 16) | (1u << 2), false));
    EXPECT_FALSE(lapic_logical_match(a, (0u << 16) | (1u << 2), false));
    EXPECT_FALSE(lapic_logical_match(a, (1u << 16) | (1u << 3), false));
    // xAPIC flat model (DFR model 1111b): LDR[31:24] AND destination.
    Lapic x;
    lapic_reset(x, 0);
    x.xapic = true;
    ASSERT_EQ(lapic_mmio_write(x, 0xd0, 0x04000000, 0), LapicResult::Ok); // LDR = bit 2
    EXPECT_EQ(lapic_mmio_read(x, 0xe0, 0), 0xffffffffu);                  // DFR flat at reset
    EXPECT_TRUE(lapic_logical_match(x, 0x06, true));
    EXPECT_FALSE(lapic_logical_match(x, 0x01, true));
    // Cluster model (0000b): destination 7:4 the cluster, 3:0 the members.
    ASSERT_EQ(lapic_mmio_write(x, 0xe0, 0x0fffffff, 0), LapicResult::Ok);
    ASSERT_EQ(lapic_mmio_write(x, 0xd0, 0x32000000, 0), LapicResult::Ok); // cluster 3, bit 1
    EXPECT_TRUE(lapic_logical_match(x, 0x36, true));
    EXPECT_FALSE(lapic_logical_match(x, 0x26, true));
}

TEST(X86Lapic, XapicMmioRegisters) {
    Lapic a;
    lapic_reset(a, 5);
    a.xapic = true;
    EXPECT_EQ(lapic_mmio_read(a, 0x20, 0), 5u << 24); // ID in 31:24
    EXPECT_EQ(lapic_mmio_read(a, 0x30, 0) & 0xff, 0x14u);
    ASSERT_EQ(lapic_mmio_write(a, 0xf0, 0x1ff, 0), LapicResult::Ok); // SVR enable
    // ICR high holds the destination in 31:24; the low write sends.
    ASSERT_EQ(lapic_mmio_write(a, 0x310, 0x03000000, 0), LapicResult::Ok);
    ASSERT_EQ(lapic_mmio_write(a, 0x300, 0x4050, 0), LapicResult::SendIpi);
    const u64 icr = lapic_icr_of(a, kApicIcr, 0);
    EXPECT_EQ(icr >> 32, 3u);
    EXPECT_EQ(icr & 0xffff, 0x4050u);
    // Reserved offsets read 0 and ignore writes (no #GP in xAPIC mode).
    EXPECT_EQ(lapic_mmio_read(a, 0x40, 0), 0u);
    EXPECT_EQ(lapic_mmio_write(a, 0x40, 0x1234, 0), LapicResult::Ok);
    // EOI takes any value in xAPIC mode.
    lapic_post(a, 0x60);
    lapic_accept(a, 0x60);
    ASSERT_EQ(lapic_mmio_write(a, 0xb0, 0xdead, 0), LapicResult::Ok);
    EXPECT_EQ(lapic_ppr(a), 0u);
}
