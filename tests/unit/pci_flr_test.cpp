// Function Level Reset (drivers/pci/flr.cpp) against a function whose config space is laid
// out by hand from PCI Local Bus 3.0 §6.7 (Status bit 4 "Capabilities List", pointer at
// 34h, entries ID [7:0] / next [15:8]) and PCI Express Base 6.0 §7.5.3 (Device Capabilities
// FLR bit 28, Device Control Initiate FLR bit 15, Device Status Transactions Pending bit 5)
// and §6.6.2 (100 ms after FLR).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "drivers/pci/flr.hpp"

namespace keel::pci {
namespace {

// 00:01.1: capability list 40h (power management, ID 01h) -> 80h (PCI Express, ID 10h).
class Function final : public ConfigAccess {
public:
    u8 cfg[4096] = {};
    Bdf at{0, 1, 1};
    std::vector<u32> devctl_writes;
    u32 pending_reads_left = 0; // Transactions Pending reads as set this many times

    Function() {
        put(0x04, 0x0006u | (1u << 20)); // memory + bus master, Capabilities List
        put(0x34, 0x40);
        put(0x40, 0x01u | (0x80u << 8));
        put(0x80, 0x10u | (0x00u << 8) | (0x0002u << 16)); // PCIe v2, end of list
        put(0x84, 1u << 28);                               // FLR capable
        put(0x88, 0x2810u | (0x0001u << 16)); // control; status: Correctable Error Detected
    }
    void put(u32 off, u32 v) { std::memcpy(cfg + off, &v, 4); }
    [[nodiscard]] u32 get(u32 off) const {
        u32 v;
        std::memcpy(&v, cfg + off, 4);
        return v;
    }
    u32 read32(Bdf f, u32 off) override {
        if (f.bus != at.bus || f.dev != at.dev || f.fn != at.fn) return 0xffffffffu;
        if (off == 0x88 && pending_reads_left > 0) {
            --pending_reads_left;
            return get(off) | (1u << 21);
        }
        return get(off);
    }
    void write32(Bdf, u32 off, u32 v) override {
        if (off == 0x88) {
            devctl_writes.push_back(v);
            put(off,
                (get(off) & ~(v & 0xffff0000u)) | (v & 0x7fffu)); // RW1C status, FLR self-clears
            return;
        }
        put(off, v);
    }
};

class Clock final : public Waiter {
public:
    u64 total_us = 0;
    void wait_us(u64 us) override { total_us += us; }
};

TEST(PciFlr, FindsCapabilitiesThroughTheList) {
    Function f;
    EXPECT_EQ(find_cap(f, f.at, 0x10).value_or(0), 0x80u);
    EXPECT_EQ(find_cap(f, f.at, 0x01).value_or(0), 0x40u);
    EXPECT_EQ(find_cap(f, f.at, 0x05).status(), Status::NotFound) << "no MSI";
    f.put(0x80, 0x10u | (0x80u << 8)); // PCIe cap pointing at itself: never ID 0x05
    EXPECT_EQ(find_cap(f, f.at, 0x05).status(), Status::Corrupt);
    f.put(0x40, 0x01u | (0x10u << 8)); // into the header
    EXPECT_EQ(find_cap(f, f.at, 0x05).status(), Status::Corrupt);
    f.put(0x04, 0x0006); // no Capabilities List bit
    EXPECT_EQ(find_cap(f, f.at, 0x10).status(), Status::NotFound);
}

TEST(PciFlr, BusMasterOffThenInitiateFlrThenWait100ms) {
    Function f;
    Clock c;
    ASSERT_EQ(function_level_reset(f, f.at, c), Status::Ok);
    EXPECT_EQ(f.get(0x04) & 0x4u, 0u) << "bus mastering off first";
    ASSERT_EQ(f.devctl_writes.size(), 1u);
    EXPECT_EQ(f.devctl_writes[0], 0x2810u | 0x8000u) << "Initiate FLR, other control bits kept";
    EXPECT_EQ(f.devctl_writes[0] >> 16, 0u) << "no RW1C status bit written";
    EXPECT_EQ(f.get(0x88) >> 16, 1u) << "status left as it was";
    EXPECT_EQ(c.total_us, 100u * 1000);
}

TEST(PciFlr, WaitsForPendingTransactionsBoundedly) {
    Function f;
    Clock c;
    f.pending_reads_left = 3;
    ASSERT_EQ(function_level_reset(f, f.at, c), Status::Ok);
    EXPECT_EQ(c.total_us, 3u * 10 * 1000 + 100u * 1000);
    Function g;
    Clock d;
    g.pending_reads_left = 1000; // never drains
    ASSERT_EQ(function_level_reset(g, g.at, d), Status::Ok) << "FLR discards them anyway";
    EXPECT_EQ(d.total_us, 100u * 1000 + 100u * 1000) << "at most 100 ms of waiting first";
}

TEST(PciFlr, RefusesWithoutFlrAndChangesNothing) {
    Function f;
    Clock c;
    f.put(0x84, 0);
    EXPECT_EQ(function_level_reset(f, f.at, c), Status::Unsupported);
    EXPECT_TRUE(f.devctl_writes.empty());
    EXPECT_EQ(f.get(0x04) & 0x4u, 0x4u) << "bus mastering untouched";
    f.put(0x40, 0x01); // list ends before the PCIe capability
    EXPECT_EQ(function_level_reset(f, f.at, c), Status::NotFound);
    EXPECT_EQ(c.total_us, 0u);
}

} // namespace
} // namespace keel::pci
