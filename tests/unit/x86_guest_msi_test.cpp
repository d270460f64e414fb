// A guest's MSIs on x86 (arch/x86_64/virt/guest_msi.hpp), against the message format of the
// SDM Vol. 3A 11.11.1 (address: 0xFEE 31:20, destination ID 19:12, RH 3, DM 2) and 11.11.2
// (data: vector 7:0, delivery mode 10:8, level 14, trigger mode 15), and VT-d 5.1.2.2 for the
// remappable format (address bit 4), which a guest without an IOMMU never uses.
#include "arch/x86_64/virt/guest_msi.hpp"

#include <gtest/gtest.h>

namespace keel::virt {
namespace {

TEST(X86GuestMsi, WhatLinuxProgramsForAVectorOnACpu) {
    // Physical destination APIC 3, vector 0x41, fixed, edge: address 0xFEE03000, data 0x0041.
    u32 p = 0;
    ASSERT_TRUE(pack_guest_msi(0xfee03000, 0x0041, &p));
    const GuestMsi m = unpack_guest_msi(p);
    EXPECT_EQ(m.vector, 0x41);
    EXPECT_EQ(m.mode, 0);
    EXPECT_FALSE(m.logical);
    EXPECT_EQ(m.dest, 3);
}

TEST(X86GuestMsi, LogicalLowestPriority) {
    // DM (bit 2) = 1, destination 0x0f; data: lowest priority (001b in 10:8), vector 0x55.
    u32 p = 0;
    ASSERT_TRUE(pack_guest_msi(0xfee0f004, (1u << 8) | 0x55, &p));
    const GuestMsi m = unpack_guest_msi(p);
    EXPECT_EQ(m.vector, 0x55);
    EXPECT_EQ(m.mode, 1);
    EXPECT_TRUE(m.logical);
    EXPECT_EQ(m.dest, 0x0f);
}

TEST(X86GuestMsi, TheHighDwordAndRedirectionHintDoNotMatterButTheRangeDoes) {
    u32 p = 0;
    EXPECT_TRUE(pack_guest_msi(0xfee00008, 0x30, &p)) << "RH set";
    EXPECT_FALSE(pack_guest_msi(0x1'fee00000, 0x30, &p)) << "not the interrupt range";
    EXPECT_FALSE(pack_guest_msi(0xfed00000, 0x30, &p)) << "not 0xFEE";
    EXPECT_FALSE(pack_guest_msi(0, 0, &p)) << "an entry the guest never wrote";
}

TEST(X86GuestMsi, OnlyFixedAndLowestPriorityWithAVectorFromSixteen) {
    u32 p = 0;
    EXPECT_FALSE(pack_guest_msi(0xfee00000, 0x000f, &p)) << "vectors 0-15 are reserved";
    EXPECT_FALSE(pack_guest_msi(0xfee00000, (2u << 8) | 0x40, &p)) << "SMI";
    EXPECT_FALSE(pack_guest_msi(0xfee00000, (4u << 8) | 0x40, &p)) << "NMI";
    EXPECT_FALSE(pack_guest_msi(0xfee00000, (5u << 8) | 0x40, &p)) << "INIT";
    EXPECT_FALSE(pack_guest_msi(0xfee00000, (7u << 8) | 0x40, &p)) << "ExtINT";
    EXPECT_TRUE(pack_guest_msi(0xfee00000, (1u << 15) | (1u << 14) | 0x40, &p))
        << "the trigger and level bits are ignored for edge delivery";
}

TEST(X86GuestMsi, TheRemappableFormatIsRefused) {
    u32 p = 0;
    EXPECT_FALSE(pack_guest_msi(0xfee00010, 0, &p)) << "interrupt format bit 4";
}

} // namespace
} // namespace keel::virt
