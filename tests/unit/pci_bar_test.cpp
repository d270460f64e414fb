// PCI discovery, BAR sizing (drivers/pci/ecam.cpp) against a model of a function's
// config space, and BAR placement (drivers/pci/bar_place.cpp): 32/64-bit BARs,
// too-small shared-memory BAR, overlap with busy ranges, no room.
#include <gtest/gtest.h>

#include <map>

#include "drivers/pci/bar_place.hpp"
#include "drivers/pci/ecam.hpp"

namespace keel::pci {
namespace {

// One type-0 function at 00:03.0 whose BARs behave like hardware: writes keep only the
// address bits above the size (the low bits read back as the type flags).
class FakeConfig final : public ConfigAccess {
public:
    u32 cmd = 0x0007;
    u32 header = 0; // header type byte at [23:16]
    u32 bar[6] = {};
    u64 size[6] = {};  // 0: not implemented
    u32 flags[6] = {}; // low 4 bits: type, prefetch
    u32 probes_with_decode_on = 0;
    Bdf at{0, 3, 0};

    void mem32(u32 i, u64 sz, bool pf = false) { size[i] = sz, flags[i] = pf ? 8 : 0; }
    void mem64(u32 i, u64 sz) { size[i] = sz, flags[i] = 0xc, size[i + 1] = ~0ull; }
    void io(u32 i, u32 sz) { size[i] = sz, flags[i] = 1; }

    u32 read32(Bdf f, u32 off) override {
        if (f.bus != at.bus || f.dev != at.dev || f.fn != at.fn) return 0xffffffffu;
        if (off == kCfgId) return 0x11101af4u;
        if (off == kCfgCommand) return cmd;
        if (off == kCfgHeader) return header << 16;
        if (off >= kCfgBar0 && off < kCfgBar0 + 24) {
            const u32 i = (off - kCfgBar0) / 4;
            if (size[i] == ~0ull) { // upper half of a 64-bit BAR
                const u64 sz = size[i - 1];
                return static_cast<u32>(bar[i] & (~(sz - 1) >> 32));
            }
            if (size[i] == 0) return 0;
            return (bar[i] & static_cast<u32>(~(size[i] - 1)) & ~0xfu) | flags[i];
        }
        return 0;
    }
    void write32(Bdf f, u32 off, u32 v) override {
        if (f.bus != at.bus || f.dev != at.dev || f.fn != at.fn) return;
        if (off == kCfgCommand) cmd = v & 0xffff;
        if (off >= kCfgBar0 && off < kCfgBar0 + 24) {
            if (v == 0xffffffffu && (cmd & kCmdMemory)) ++probes_with_decode_on;
            bar[(off - kCfgBar0) / 4] = v;
        }
    }
};

TEST(PciEnum, FindsTheDeviceAndNothingElse) {
    FakeConfig cfg;
    Result<Bdf> d = find_device(cfg, 0, 0, 0x1af4, 0x1110);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d.value().dev, 3);
    EXPECT_EQ(find_device(cfg, 0, 0, 0x1af4, 0x1000).status(), Status::NotFound);
    EXPECT_EQ(find_device(cfg, 1, 1, 0x1af4, 0x1110).status(), Status::NotFound);
}

TEST(PciSize, ThirtyTwoAndSixtyFourBitBars) {
    FakeConfig cfg;
    cfg.mem32(0, 256);
    cfg.mem64(2, 64 * MiB);
    cfg.io(4, 32);
    cfg.bar[0] = 0x12345000; // firmware's value: restored after the probe
    Bar bars[6];
    ASSERT_EQ(size_bars(cfg, cfg.at, bars), Status::Ok);
    EXPECT_TRUE(bars[0].present);
    EXPECT_FALSE(bars[0].is64);
    EXPECT_EQ(bars[0].size, 256u);
    EXPECT_TRUE(bars[2].present && bars[2].is64);
    EXPECT_EQ(bars[2].size, 64 * MiB);
    EXPECT_FALSE(bars[3].present) << "upper half of BAR2 is not a BAR";
    EXPECT_TRUE(bars[4].io);
    EXPECT_FALSE(bars[4].present) << "I/O BARs are never placed";
    EXPECT_EQ(cfg.bar[0] & ~0xffu, 0x12345000u & ~0xffu);
    EXPECT_EQ(cfg.probes_with_decode_on, 0u) << "memory decoding off while probing";
    EXPECT_EQ(cfg.cmd & kCmdMemory, 0u);
}

TEST(PciSize, SixtyFourBitBarLargerThan4GiB) {
    FakeConfig cfg;
    cfg.mem64(0, 8 * GiB);
    Bar bars[6];
    ASSERT_EQ(size_bars(cfg, cfg.at, bars), Status::Ok);
    EXPECT_EQ(bars[0].size, 8 * GiB);
}

TEST(PciSize, SixtyFourBitBarInTheLastRegisterIsCorrupt) {
    FakeConfig cfg;
    cfg.size[5] = 4096;
    cfg.flags[5] = 4;
    Bar bars[6];
    EXPECT_EQ(size_bars(cfg, cfg.at, bars), Status::Corrupt);
}

TEST(PciSize, BridgesAreNotSized) {
    FakeConfig cfg;
    cfg.header = 1;
    Bar bars[6];
    EXPECT_EQ(size_bars(cfg, cfg.at, bars), Status::Unsupported);
}

TEST(PciProgram, WritesAddressesAndEnablesDecoding) {
    FakeConfig cfg;
    cfg.mem32(0, 4096);
    cfg.mem64(2, 4 * MiB);
    Bar bars[6];
    ASSERT_EQ(size_bars(cfg, cfg.at, bars), Status::Ok);
    bars[0].addr = 0x10001000;
    bars[2].addr = 0x8000400000ull;
    program_bars(cfg, cfg.at, bars);
    EXPECT_EQ(cfg.bar[0], 0x10001000u);
    EXPECT_EQ(cfg.bar[2], 0x00400000u);
    EXPECT_EQ(cfg.bar[3], 0x80u);
    EXPECT_NE(cfg.cmd & kCmdMemory, 0u);
}

Bar bar(u32 i, u64 size, bool is64 = false) {
    Bar b;
    b.index = i, b.present = true, b.size = size, b.is64 = is64;
    return b;
}

TEST(PciPlace, LargestFirstNaturallyAlignedInsideTheWindow) {
    Bar bars[6] = {bar(0, 4096), Bar{}, bar(2, 4 * MiB, true)};
    Window w{0x10001000, 0x2effefff, false}; // unaligned base, as on QEMU virt
    PlaceConstraints c;
    c.windows = &w, c.window_count = 1;
    ASSERT_EQ(place_bars(bars, c), Status::Ok);
    EXPECT_EQ(bars[2].addr, 0x10400000u) << "first 4 MiB-aligned address in the window";
    EXPECT_EQ(bars[0].addr, 0x10001000u);
    EXPECT_EQ(bars[2].addr % bars[2].size, 0u);
}

TEST(PciPlace, BusyRangesAreNeverOverlapped) {
    Bar bars[6] = {bar(0, 4 * MiB)};
    Window w{0x40000000, 0x10000000, false};
    MemRange busy[2];
    busy[0].base = 0x40000000, busy[0].size = 0x00500000; // straddles the first two slots
    busy[1].base = 0x40800000, busy[1].size = 0x1000;
    PlaceConstraints c;
    c.windows = &w, c.window_count = 1, c.busy = busy, c.busy_count = 2;
    ASSERT_EQ(place_bars(bars, c), Status::Ok);
    EXPECT_EQ(bars[0].addr, 0x40c00000u);
    for (const MemRange& m : busy)
        EXPECT_FALSE(ranges_overlap(bars[0].addr, bars[0].size, m.base, m.size));
}

TEST(PciPlace, BarsDoNotOverlapEachOther) {
    Bar bars[6] = {bar(0, 1 * MiB), bar(1, 1 * MiB), bar(2, 1 * MiB), bar(3, 1 * MiB)};
    Window w{0x20000000, 4 * MiB, false};
    PlaceConstraints c;
    c.windows = &w, c.window_count = 1;
    ASSERT_EQ(place_bars(bars, c), Status::Ok);
    for (u32 i = 0; i < 4; ++i)
        for (u32 j = i + 1; j < 4; ++j)
            EXPECT_FALSE(ranges_overlap(bars[i].addr, 1 * MiB, bars[j].addr, 1 * MiB))
                << i << "," << j;
}

TEST(PciPlace, NoRoomIsNoMemory) {
    Bar bars[6] = {bar(0, 8 * MiB)};
    Window w{0x20000000, 4 * MiB, false};
    PlaceConstraints c;
    c.windows = &w, c.window_count = 1;
    EXPECT_EQ(place_bars(bars, c), Status::NoMemory);
    PlaceConstraints none;
    EXPECT_EQ(place_bars(bars, none), Status::NoMemory) << "no windows at all";
}

TEST(PciPlace, AddressLimitAnd32BitDecodersAreHonoured) {
    Window hi{0x8000000000ull, 0x8000000000ull, true}; // at 512 GiB: past an address limit of 2^39
    Window lo{0x10000000, 0x10000000, false};
    Window both[2] = {hi, lo};
    PlaceConstraints c;
    c.windows = both, c.window_count = 2, c.addr_limit = 1ull << 39;
    Bar bars[6] = {bar(0, 4 * MiB, true)};
    ASSERT_EQ(place_bars(bars, c), Status::Ok);
    EXPECT_LT(bars[0].addr + bars[0].size, 1ull << 39);
    // A 32-bit BAR never lands above 4 GiB, even in a 64-bit window.
    Window w64{0xfff00000ull, 0x100000000ull, true};
    c.windows = &w64, c.window_count = 1, c.addr_limit = 0;
    Bar b32[6] = {bar(0, 4 * MiB, false)};
    EXPECT_EQ(place_bars(b32, c), Status::NoMemory);
    Bar b64[6] = {bar(0, 4 * MiB, true)};
    ASSERT_EQ(place_bars(b64, c), Status::Ok);
    EXPECT_GE(b64[0].addr, 0x100000000ull);
}

TEST(PciPlace, WindowEndingAtTheTopOfTheAddressSpaceDoesNotWrap) {
    Window w{0xffffffffff000000ull, 0x1000000ull, true}; // base + size == 2^64
    PlaceConstraints c;
    c.windows = &w, c.window_count = 1;
    Bar bars[6] = {bar(0, 4 * MiB, true)};
    EXPECT_EQ(place_bars(bars, c), Status::NoMemory) << "end wraps to 0: refused, not misplaced";
}

} // namespace
} // namespace keel::pci
