// NVMe admin command encoding and data-structure parsing (drivers/sriov/nvme_cmd.cpp),
// checked against the bit positions of NVM Express Base Specification 2.0: Figure 88
// (SQE common layout), Figure 273 (Identify CDW10), Figure 321 (Virtualization Management
// CDW10/11), Figure 316 (Namespace Attachment CDW10), Figure 136 (controller list),
// Figures 280-282 (primary controller capabilities, secondary controller list).
#include <gtest/gtest.h>

#include "drivers/sriov/nvme_cmd.hpp"

namespace keel::nvme {
namespace {

TEST(NvmeCmd, IdentifyLayout) {
    const Sqe s = identify(0x15, 3, 0, 0x0000001234567000ull);
    EXPECT_EQ(s.dw[0], 0x06u) << "opcode in CDW0[7:0], CID filled at submission";
    EXPECT_EQ(s.dw[1], 0u);
    EXPECT_EQ(s.dw[6], 0x34567000u) << "PRP1 low";
    EXPECT_EQ(s.dw[7], 0x12u) << "PRP1 high";
    EXPECT_EQ(s.dw[10], 0x00030015u) << "CNTID [31:16], CNS [7:0]";
    const Sqe t = identify(0x12, 0, 7, 0x1000);
    EXPECT_EQ(t.dw[1], 7u) << "NSID in CDW1";
}

TEST(NvmeCmd, VirtualizationManagementLayout) {
    // Secondary Controller Assign (8h) of 2 VI resources (RT 1) to controller 0x0102.
    const Sqe s = virt_mgmt(0x8, 1, 0x0102, 2);
    EXPECT_EQ(s.dw[0], 0x1cu);
    EXPECT_EQ(s.dw[10], 0x01020108u) << "CNTLID [31:16], RT [10:8], ACT [3:0]";
    EXPECT_EQ(s.dw[11], 2u) << "NR [15:0]";
    const Sqe on = virt_mgmt(0x9, 0, 1, 0);
    EXPECT_EQ(on.dw[10], 0x00010009u);
}

TEST(NvmeCmd, NamespaceAttachmentAndControllerList) {
    const Sqe a = ns_attachment(2, false, 0x5000);
    EXPECT_EQ(a.dw[0], 0x15u);
    EXPECT_EQ(a.dw[1], 2u);
    EXPECT_EQ(a.dw[10], 0u) << "SEL 0: attach";
    EXPECT_EQ(ns_attachment(2, true, 0x5000).dw[10], 1u) << "SEL 1: detach";
    u8 page[4096];
    const u16 ids[2] = {0x0001, 0x0203};
    ASSERT_TRUE(write_controller_list(page, sizeof page, ids, 2));
    EXPECT_EQ(page[0], 2);
    EXPECT_EQ(page[1], 0);
    EXPECT_EQ(page[2], 0x01);
    EXPECT_EQ(page[4], 0x03);
    EXPECT_EQ(page[5], 0x02);
    u16 back[4] = {};
    EXPECT_EQ(read_controller_list(page, sizeof page, back, 4), 2);
    EXPECT_EQ(back[1], 0x0203);
    page[0] = 0x00, page[1] = 0x08; // 2048 identifiers: more than Figure 136 allows
    EXPECT_EQ(read_controller_list(page, sizeof page, back, 4), -1);
    EXPECT_FALSE(write_controller_list(page, 4, ids, 2)) << "page too small";
}

TEST(NvmeCmd, CompletionFields) {
    // DW3: CID 0x0042, phase 1, SC 0x0b, SCT 1 -> status field (bits 31:17) = 0x10b.
    const Cqe c{{0, 0, 0, 0x0042u | (1u << 16) | (0x10bu << 17)}};
    EXPECT_EQ(cqe_cid(c), 0x42);
    EXPECT_TRUE(cqe_phase(c));
    EXPECT_EQ(cqe_status(c), 0x10b);
}

TEST(NvmeCmd, SecondaryControllerList) {
    u8 page[4096] = {};
    page[0] = 2; // two entries, from byte 32, 32 bytes each
    u8* e = page + 32;
    e[0] = 0x01, e[2] = 0x00, e[4] = 0x01, e[8] = 0x01, e[10] = 0x02, e[12] = 0x01;
    e = page + 64;
    e[0] = 0x02, e[4] = 0x00, e[8] = 0x02;
    SecondaryController sc[4];
    ASSERT_EQ(parse_secondary_list(page, sizeof page, sc, 4), 2);
    EXPECT_EQ(sc[0].scid, 1);
    EXPECT_TRUE(sc[0].online);
    EXPECT_EQ(sc[0].vfn, 1);
    EXPECT_EQ(sc[0].nvq, 2);
    EXPECT_EQ(sc[0].nvi, 1);
    EXPECT_EQ(sc[1].scid, 2);
    EXPECT_FALSE(sc[1].online);
    EXPECT_EQ(parse_secondary_list(page, sizeof page, sc, 1), 1) << "at most max";
    page[0] = 128;
    EXPECT_EQ(parse_secondary_list(page, sizeof page, sc, 4), -1) << "more than 127";
}

TEST(NvmeCmd, PrimaryControllerCapabilities) {
    u8 p[4096] = {};
    p[0] = 0x05;                // CNTLID
    p[32] = 4;                  // VQFRT
    p[36] = 2;                  // VQRFA
    p[44] = 2;                  // VQFRSM
    p[64] = 0x10, p[65] = 0x01; // VIFRT 0x110
    p[68] = 1;                  // VIRFA
    p[76] = 1;                  // VIFRSM
    const PrimaryCaps c = parse_primary_caps(p);
    EXPECT_EQ(c.cntlid, 5);
    EXPECT_EQ(c.vqfrt, 4u);
    EXPECT_EQ(c.vqrfa, 2u);
    EXPECT_EQ(c.vqfrsm, 2);
    EXPECT_EQ(c.vifrt, 0x110u);
    EXPECT_EQ(c.virfa, 1u);
    EXPECT_EQ(c.vifrsm, 1);
}

} // namespace
} // namespace keel::nvme
