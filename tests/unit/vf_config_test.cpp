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
