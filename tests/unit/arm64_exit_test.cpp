#include <gtest/gtest.h>

#include "arch/arm64/exit.hpp"

using namespace keel;
using namespace keel::arm64;

TEST(Arm64Exit, ClassifiesByVectorAndEc) {
    EXPECT_EQ(classify_exit(8, Esr{0x5a000000}), ExitReason::Hvc); // EC 0x16
    EXPECT_EQ(classify_exit(8, Esr{0x5e000000}), ExitReason::Smc); // EC 0x17
    EXPECT_EQ(classify_exit(8, Esr{0x62000000}), ExitReason::SysReg);
    EXPECT_EQ(classify_exit(8, Esr{0x92000000}), ExitReason::DataAbort);
    EXPECT_EQ(classify_exit(8, Esr{0x82000000}), ExitReason::InstructionAbort);
    EXPECT_EQ(classify_exit(8, Esr{0x04000000}), ExitReason::Wfx);
    EXPECT_EQ(classify_exit(8, Esr{0x00000000}), ExitReason::Unknown);
    EXPECT_EQ(classify_exit(9, Esr{0x5a000000}), ExitReason::Irq);
    EXPECT_EQ(classify_exit(10, Esr{0}), ExitReason::Fiq);
    EXPECT_EQ(classify_exit(11, Esr{0}), ExitReason::SError);
    EXPECT_EQ(classify_exit(4, Esr{0x5a000000}), ExitReason::Unknown); // not a guest vector
}

TEST(Arm64Exit, DecodesDataAbort) {
    // str w3, [x1] to the UART: EC 0x24, IL, ISV, SAS=2 (word), SRT=3, WnR, DFSC 0x07
    // (translation fault level 3).
    const u64 esr = (0x24ull << 26) | (1ull << 25) | (1ull << 24) | (2ull << 22) | (3ull << 16) |
                    (1ull << 6) | 0x07;
    const u64 hpfar = (0x09000000ull >> 12) << 4;
    DataAbort d = DataAbort::decode(Esr{esr}, 0x09000018, hpfar);
    EXPECT_TRUE(d.isv);
    EXPECT_EQ(d.size, 4);
    EXPECT_FALSE(d.sign_extend);
    EXPECT_EQ(d.srt, 3);
    EXPECT_FALSE(d.sf64);
    EXPECT_TRUE(d.write);
    EXPECT_FALSE(d.s1ptw);
    EXPECT_EQ(d.dfsc, 0x07);
    EXPECT_EQ(d.ipa, GuestPhys(0x09000018));

    // ldrsh x5 (SSE, SF, SAS=1), read, at a high IPA; FAR is a guest VA with another page.
    const u64 esr2 = (0x24ull << 26) | (1ull << 25) | (1ull << 24) | (1ull << 22) | (1ull << 21) |
                     (5ull << 16) | (1ull << 15) | 0x06;
    DataAbort r = DataAbort::decode(Esr{esr2}, 0xffff000012345ffeull, (0x7f12345000ull >> 12) << 4);
    EXPECT_EQ(r.size, 2);
    EXPECT_TRUE(r.sign_extend);
    EXPECT_TRUE(r.sf64);
    EXPECT_FALSE(r.write);
    EXPECT_EQ(r.srt, 5);
    EXPECT_EQ(r.ipa, GuestPhys(0x7f12345ffeull));
    EXPECT_EQ(r.far, 0xffff000012345ffeull);

    DataAbort n = DataAbort::decode(Esr{(0x24ull << 26) | (1ull << 7)}, 0, 0);
    EXPECT_FALSE(n.isv);
    EXPECT_TRUE(n.s1ptw);
}

TEST(Arm64Exit, DecodesSysRegTrap) {
    // mrs x7, mdscr_el1: op0 2, op1 0, CRn 0, CRm 2, op2 2, read.
    const u64 iss = (2u << 20) | (2u << 17) | (0u << 14) | (0u << 10) | (7u << 5) | (2u << 1) | 1u;
    SysRegAccess s = SysRegAccess::decode(Esr{(0x18ull << 26) | iss});
    EXPECT_TRUE(s.read);
    EXPECT_EQ(s.rt, 7);
    EXPECT_EQ(s.op0, 2);
    EXPECT_EQ(s.op2, 2);
    EXPECT_EQ(s.crm, 2);
}

TEST(Arm64Exit, InjectedAbortSyndromeAndVector) {
    EXPECT_EQ(injected_abort_esr(false, false), 0x96000010ull);
    EXPECT_EQ(injected_abort_esr(false, true), 0x92000010ull);
    EXPECT_EQ(injected_abort_esr(true, false), 0x86000010ull);
    // Issue 10 item 18: a store's abort says so (WnR); bare QEMU reports 0x96000050 for a
    // store to an unbacked address at EL1. An instruction abort has no WnR.
    EXPECT_EQ(injected_abort_esr(false, false, true), 0x96000050ull);
    EXPECT_EQ(injected_abort_esr(false, true, true), 0x92000050ull);
    EXPECT_EQ(injected_abort_esr(true, false, true), 0x86000010ull);
    EXPECT_EQ(sync_vector_offset(0x3c5), 0x200u);
    EXPECT_EQ(sync_vector_offset(0x3c4), 0x000u);
    EXPECT_EQ(sync_vector_offset(0x0), 0x400u);
}

// Issue 10 item 14: PSTATE after the injected exception entry, from the ARM ARM's rules
// (D1.3.4 "PSTATE on exception entry"): EL1h, DAIF set, NZCV and DIT kept, IL/SS/UAO/
// BTYPE cleared, PAN set unless SCTLR_EL1.SPAN, SSBS from SCTLR_EL1.DSSBS, TCO with MTE.
TEST(Arm64Exit, ExceptionEntryPstate) {
    constexpr u64 kSpan = 1ull << 23, kDssbs = 1ull << 44;
    // From EL0t with Z and C set, everything unmasked: EL1h, DAIF masked, flags kept.
    EXPECT_EQ(exception_entry_pstate(0x60000000, kSpan, false), 0x600003c5ull);
    // SPAN = 0: PAN becomes 1 (bit 22).
    EXPECT_EQ(exception_entry_pstate(0x3c5, 0, false), 0x4003c5ull);
    // IL (20), SS (21), UAO (23), BTYPE (11:10), SSBS (12) of the interrupted state are
    // not carried; DIT (24) is; SSBS comes from DSSBS; TCO (25) is set with MTE.
    EXPECT_EQ(exception_entry_pstate((1ull << 20) | (1ull << 21) | (1ull << 23) | (3ull << 10) |
                                         (1ull << 12) | (1ull << 24) | 0x4,
                                     kSpan, false),
              (1ull << 24) | 0x3c5ull);
    EXPECT_EQ(exception_entry_pstate(0x3c5, kSpan | kDssbs, true),
              (1ull << 25) | (1ull << 12) | 0x3c5ull);
    // An already set PAN stays set.
    EXPECT_EQ(exception_entry_pstate((1ull << 22) | 0x5, kSpan, false), (1ull << 22) | 0x3c5ull);
    // The instruction abort the guest gets from the current EL: EC 0x21, IL, IFSC 0x10.
    EXPECT_EQ(injected_abort_esr(true, false), 0x86000010ull);
    EXPECT_EQ(injected_abort_esr(true, true), 0x82000010ull);
    EXPECT_EQ(fault_ipa(0xffff000012345678ull, 0x40400ull << 4), 0x40400678ull);
}
