// The guest's view of a VF's config space (drivers/sriov/vf_config.cpp), checked against the
// type-0 header layout of PCI Local Bus 3.0 §6.1-6.2.5 (IDs 00h, Command/Status 04h, class
// 08h, header type 0Eh, BAR0 10h with the all-ones sizing of §6.2.5.1, subsystem 2Ch,
// capabilities pointer 34h, interrupt pin 3Dh) and the MSI-X capability of §6.8.2 (ID 11h,
// Message Control: Table Size [10:0] read-only, Function Mask [14], Enable [15]).
#include <gtest/gtest.h>

#include "drivers/sriov/vf_config.hpp"

namespace keel::sriov {
namespace {

VfConfigView view(bool msix = true) {
    VfIdentity id;
    id.vendor = 0x1b36;
    id.device = 0x0010;
    id.class_rev = 0x01080202;
    id.subsystem = 0x11001af4;
    id.msix = msix;
    id.msix_control = 0x0040;   // 65 vectors
    id.msix_table = 0x00002000; // BIR 0, offset 2000h
    id.msix_pba = 0x00003000;
    VfConfigView v;
    v.reset(id, 0x10000000, 16 * 1024);
    return v;
}

TEST(VfConfig, HeaderFromTheVfsIdentity) {
    const VfConfigView v = view();
    EXPECT_EQ(v.read(0x00, 2), 0x1b36u);
    EXPECT_EQ(v.read(0x02, 2), 0x0010u);
    EXPECT_EQ(v.read(0x08, 4), 0x01080202u);
    EXPECT_EQ(v.read(0x0b, 1), 0x01u) << "base class: mass storage";
    EXPECT_EQ(v.read(0x0e, 1), 0u) << "header type 0, one function";
    EXPECT_EQ(v.read(0x06, 2) & (1u << 4), 1u << 4) << "capabilities list";
    EXPECT_EQ(v.read(0x34, 1), 0x40u);
    EXPECT_EQ(v.read(0x2c, 4), 0x11001af4u);
    EXPECT_EQ(v.read(0x3d, 1), 0u) << "no INTx pin: a VF has none";
    for (u32 bar = 0x14; bar <= 0x24; bar += 4)
        EXPECT_EQ(v.read(bar, 4), 0u) << "BAR at " << bar << " not implemented";
    EXPECT_EQ(v.read(0x100, 4), 0u) << "no extended capabilities";
}

TEST(VfConfig, Bar0SizesAndStaysWhereKeelMappedIt) {
    VfConfigView v = view();
    EXPECT_EQ(v.read(0x10, 4), 0x10000000u) << "memory, 32-bit, not prefetchable";
    v.write(0x10, 4, 0xffffffffu);
    EXPECT_EQ(v.read(0x10, 4), 0xffffc000u) << "16 KiB";
    v.write(0x10, 4, 0x10000000u);
    EXPECT_EQ(v.read(0x10, 4), 0x10000000u);
    v.write(0x10, 4, 0x20000000u); // elsewhere: not where anything is mapped
    EXPECT_EQ(v.read(0x10, 4), 0x10000000u);
    v.write(0x10, 1, 0xff); // a byte of the BAR: ignored
    EXPECT_EQ(v.read(0x10, 4), 0x10000000u);
}

TEST(VfConfig, CommandAndMsixControlKeepOnlyTheGuestsBits) {
    VfConfigView v = view();
    v.write(0x04, 2, 0xffff);
    EXPECT_EQ(v.read(0x04, 2), 0x0406u) << "memory, bus master, INTx disable";
    EXPECT_EQ(v.command(), 0x0406u);
    v.write(0x06, 2, 0xffff); // status: RW1C bits, nothing to clear; command untouched
    EXPECT_EQ(v.read(0x04, 2), 0x0406u);
    EXPECT_EQ(v.read(0x40, 1), 0x11u) << "MSI-X";
    EXPECT_EQ(v.read(0x41, 1), 0u) << "last capability";
    EXPECT_EQ(v.read(0x42, 2), 0x0040u);
    v.write(0x42, 2, 0xffff);
    EXPECT_EQ(v.read(0x42, 2), 0xc040u) << "table size read-only";
    EXPECT_TRUE(v.msix_enabled());
    EXPECT_EQ(v.read(0x44, 4), 0x2000u);
    EXPECT_EQ(v.read(0x48, 4), 0x3000u);
    v.write(0x44, 4, 0); // table offset is read-only
    EXPECT_EQ(v.read(0x44, 4), 0x2000u);
}

TEST(VfConfig, BadAccessesReadOnesAndChangeNothing) {
    VfConfigView v = view(false);
    EXPECT_EQ(v.read(0x34, 1), 0u);
    EXPECT_EQ(v.read(0x06, 2) & (1u << 4), 0u);
    EXPECT_EQ(v.read(0x40, 4), 0u);
    EXPECT_EQ(v.read(0x01, 2), ~0u) << "misaligned";
    EXPECT_EQ(v.read(0x00, 3), ~0u);
    EXPECT_EQ(v.read(4096, 4), ~0u);
    v.write(0x05, 2, 0xffff);
    v.write(4096, 4, 0xffffffffu);
    EXPECT_EQ(v.read(0x04, 2), 0u);
}

} // namespace
} // namespace keel::sriov

namespace keel::sriov {
namespace {

// MSI-X table and PBA (§6.8.2.6-6.8.2.10): 16-byte entries (message address low, whose
// bits [1:0] are reserved, high, data, vector control with Mask [0]); entries start masked;
// the PBA is a bit per vector, 64 per qword. The VF's layout: table 2000h, PBA 3000h, BIR 0.
TEST(VfConfigMsix, TableAndPbaAreTheGuestsOwnCopy) {
    VfConfigView v = view();
    u32 start[2], size[2], n = 0;
    v.msix_ranges(start, size, &n);
    ASSERT_EQ(n, 2u);
    EXPECT_EQ(start[0], 0x2000u);
    EXPECT_EQ(size[0], 65u * 16) << "65 vectors";
    EXPECT_EQ(start[1], 0x3000u);
    EXPECT_EQ(size[1], 16u) << "two qwords of pending bits";
    u32 val = 0;
    ASSERT_TRUE(v.bar0_access(0x200c, 4, false, &val));
    EXPECT_EQ(val, 1u) << "masked after reset";
    val = 0x08020043; // reserved low bits dropped
    ASSERT_TRUE(v.bar0_access(0x2000, 4, true, &val));
    val = 0x5a;
    ASSERT_TRUE(v.bar0_access(0x2008, 4, true, &val));
    val = 0xfffffffe;
    ASSERT_TRUE(v.bar0_access(0x200c, 4, true, &val));
    EXPECT_EQ(v.msix_entry(0).addr_lo, 0x08020040u);
    EXPECT_EQ(v.msix_entry(0).data, 0x5au);
    EXPECT_EQ(v.msix_entry(0).control, 0u) << "unmasked; reserved bits dropped";
    ASSERT_TRUE(v.bar0_access(0x2000 + 16 * 20, 4, false, &val));
    EXPECT_EQ(val, 0u);
    ASSERT_TRUE(v.bar0_access(0x2000 + 16 * 20 + 12, 4, false, &val));
    EXPECT_EQ(val, 1u) << "an entry past the kept ones reads masked";
    val = 0xffffffff;
    ASSERT_TRUE(v.bar0_access(0x3000, 4, false, &val));
    EXPECT_EQ(val, 0u) << "PBA: nothing pending";
    EXPECT_FALSE(v.bar0_access(0x0000, 4, false, &val)) << "registers are not emulated";
    EXPECT_FALSE(v.bar0_access(0x2002, 2, false, &val)) << "not a dword";
    v.reset(VfIdentity{}, 0x10000000, 16384);
    v.msix_ranges(start, size, &n);
    EXPECT_EQ(n, 0u);
}

} // namespace
} // namespace keel::sriov

namespace keel::sriov {
namespace {

// A guest MSI frame at doorbell B (as arm64's GICv2m frame): a message to B raises its data.
template <u64 B>
bool at(u64 address, u32 data, u32* out) {
    if (address != B) return false;
    *out = data;
    return true;
}

// Which MSIs reach the guest (§6.8.2.3 Message Control: Enable [15], Function Mask [14];
// §6.8.2.9 Vector Control: Mask [0]): only an enabled, unmasked vector aimed at the doorbell.
TEST(VfConfigMsix, OnlyAnEnabledUnmaskedVectorAimedAtTheFrameIsDelivered) {
    constexpr u64 kBell = 0x08020040;
    VfConfigView v = view();
    u32 addr = static_cast<u32>(kBell), data = 48, ctl = 0;
    ASSERT_TRUE(v.bar0_access(0x2000, 4, true, &addr));
    ASSERT_TRUE(v.bar0_access(0x2008, 4, true, &data));
    u32 spi = 0;
    EXPECT_FALSE(v.msi_target(0, at<kBell>, &spi)) << "masked after reset, MSI-X off";
    ASSERT_TRUE(v.bar0_access(0x200c, 4, true, &ctl));
    EXPECT_FALSE(v.msi_target(0, at<kBell>, &spi)) << "MSI-X Enable clear";
    v.write(0x42, 2, 0xc000); // Enable + Function Mask
    EXPECT_FALSE(v.msi_target(0, at<kBell>, &spi)) << "function masked";
    v.write(0x42, 2, 0x8000);
    ASSERT_TRUE(v.msi_target(0, at<kBell>, &spi));
    EXPECT_EQ(spi, 48u);
    EXPECT_FALSE(v.msi_target(0, at<kBell + 4>, &spi)) << "aimed elsewhere";
    EXPECT_FALSE(v.msi_target(1, at<kBell>, &spi)) << "vector 1 still masked";
    EXPECT_FALSE(v.msi_target(VfConfigView::kMsixEntries, at<kBell>, &spi));
    ctl = 1;
    ASSERT_TRUE(v.bar0_access(0x200c, 4, true, &ctl));
    EXPECT_FALSE(v.msi_target(0, at<kBell>, &spi)) << "vector masked again";
}

// A live update carries the view as its state (docs/handover.md §2.2 Vf): restored, it answers
// every config read and the guest's MSI-X table as before.
TEST(VfConfigMsix, RestoredFromItsStateItIsTheSameView) {
    VfConfigView v = view();
    v.write(0x04, 2, 0x0006);                      // memory, bus master
    v.write(VfConfigView::kMsixAt + 2, 2, 0x8000); // MSI-X Enable
    u32 word = 0x08020040;
    ASSERT_TRUE(v.bar0_access(0x2000, 4, true, &word));
    word = 48;
    ASSERT_TRUE(v.bar0_access(0x2008, 4, true, &word));
    word = 0;
    ASSERT_TRUE(v.bar0_access(0x200c, 4, true, &word)); // unmasked
    VfConfigView w;
    w.restore(v.state());
    for (u32 off = 0; off < 0x100; off += 4)
        EXPECT_EQ(w.read(off, 4), v.read(off, 4)) << "config " << off;
    u32 data = 0;
    ASSERT_TRUE(w.msi_target(0, at<0x08020040>, &data)) << "vector 0 still aimed at the frame";
    EXPECT_EQ(data, 48u);
    for (u32 off = 0x2000; off < 0x2020; off += 4) {
        u32 a = 0, b = 0;
        ASSERT_TRUE(v.bar0_access(off, 4, false, &a));
        ASSERT_TRUE(w.bar0_access(off, 4, false, &b));
        EXPECT_EQ(b, a) << "table word " << off;
    }
}

// A message for a masked vector (PCI Local Bus 3.0 §6.8.3.4): its Pending Bit is set (the PBA
// shows it) and it is sent when the guest unmasks, once; the vector's own mask and the
// function's both hold it; with MSI-X off or aimed elsewhere nothing is kept.
TEST(VfConfigMsix, AMaskedVectorsMessageIsPendingUntilUnmasked) {
    constexpr u64 kFrame = 0x08020040;
    VfConfigView v = view();
    u32 data = 0, w = 0;
    EXPECT_EQ(v.msi_arrived(0, at<kFrame>, &data), VfConfigView::Arrival::Dropped) << "MSI-X off";
    v.write(VfConfigView::kMsixAt + 2, 2, 0x8000); // MSI-X Enable; vector 0 masked from reset
    w = static_cast<u32>(kFrame);
    ASSERT_TRUE(v.bar0_access(0x2000, 4, true, &w));
    w = 48;
    ASSERT_TRUE(v.bar0_access(0x2008, 4, true, &w));
    EXPECT_EQ(v.msi_arrived(0, at<kFrame>, &data), VfConfigView::Arrival::Pending);
    u32 pba = 0;
    ASSERT_TRUE(v.bar0_access(0x3000, 4, false, &pba));
    EXPECT_EQ(pba, 1u) << "vector 0's Pending Bit";
    u32 out[8];
    EXPECT_EQ(v.take_unmasked(at<kFrame>, out), 0u) << "still masked";
    w = 0;
    ASSERT_TRUE(v.bar0_access(0x200c, 4, true, &w)); // unmask vector 0
    ASSERT_EQ(v.take_unmasked(at<kFrame>, out), 1u);
    EXPECT_EQ(out[0], 48u);
    EXPECT_EQ(v.take_unmasked(at<kFrame>, out), 0u) << "sent once";
    ASSERT_TRUE(v.bar0_access(0x3000, 4, false, &pba));
    EXPECT_EQ(pba, 0u);
    EXPECT_EQ(v.msi_arrived(0, at<kFrame>, &data), VfConfigView::Arrival::Deliver);
    EXPECT_EQ(data, 48u);
    // The function's mask holds it the same way.
    v.write(VfConfigView::kMsixAt + 2, 2, 0xc000);
    EXPECT_EQ(v.msi_arrived(0, at<kFrame>, &data), VfConfigView::Arrival::Pending);
    v.write(VfConfigView::kMsixAt + 2, 2, 0x8000);
    EXPECT_EQ(v.take_unmasked(at<kFrame>, out), 1u);
    // Aimed elsewhere, or past the vectors kept: nothing to hold.
    EXPECT_EQ(v.msi_arrived(0, at<kFrame + 4>, &data), VfConfigView::Arrival::Dropped);
    EXPECT_EQ(v.msi_arrived(VfConfigView::kMsixEntries, at<kFrame>, &data),
              VfConfigView::Arrival::Dropped);
}

} // namespace
} // namespace keel::sriov
