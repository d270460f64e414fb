// What firmware left decoding (drivers/pci/claims.cpp) and the PCI gap of a memory map
// (drivers/pci/bar_place.cpp). The bus model follows the config-space rules of PCI Local
// Bus 3.0 §6.1-6.2 (vendor 0xffff: no function; header type bit 7: multi-function; a
// BAR reads back its size mask after all ones are written) and PCI-to-PCI Bridge 1.2
// §3.2.5.8-9 (memory/prefetchable base and limit, 1 MiB granular, limit inclusive).
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "drivers/pci/bar_place.hpp"
#include "drivers/pci/claims.hpp"

namespace keel::pci {
namespace {

struct Fn {
    u32 header = 0; // header type byte
    u32 cmd = 0;
    u32 bar[6] = {};
    u64 size[6] = {};  // memory BARs, 32-bit, 0: none
    u32 regs[16] = {}; // a bridge's 0x20.. 0x2c
};

class Bus final : public ConfigAccess {
public:
    std::map<u32, Fn> fns; // dev << 3 | fn
    u32 read32(Bdf f, u32 off) override {
        auto it = fns.find(static_cast<u32>(f.dev << 3 | f.fn));
        if (f.bus != 0 || it == fns.end()) return 0xffffffffu;
        const Fn& x = it->second;
        if (off == kCfgId) return 0x00011234u;
        if (off == kCfgCommand) return x.cmd;
        if (off == kCfgHeader) return x.header << 16;
        if ((x.header & 0x7f) == 1 && off >= 0x20 && off < 0x30) return x.regs[(off - 0x20) / 4];
        if ((x.header & 0x7f) == 0 && off >= kCfgBar0 && off < kCfgBar0 + 24) {
            const u32 i = (off - kCfgBar0) / 4;
            return x.size[i] == 0 ? 0 : x.bar[i] & static_cast<u32>(~(x.size[i] - 1));
        }
        return 0;
    }
    void write32(Bdf f, u32 off, u32 v) override {
        auto it = fns.find(static_cast<u32>(f.dev << 3 | f.fn));
        if (f.bus != 0 || it == fns.end()) return;
        if (off == kCfgCommand) it->second.cmd = v & 0xffff;
        if (off >= kCfgBar0 && off < kCfgBar0 + 24) it->second.bar[(off - kCfgBar0) / 4] = v;
    }
};

std::vector<std::pair<u64, u64>> claimed(const Claims& c) {
    std::vector<std::pair<u64, u64>> v;
    for (u32 i = 0; i < c.count(); ++i)
        v.emplace_back(c.ranges()[i].base, c.ranges()[i].size);
    return v;
}

TEST(PciClaims, DecodingBarsAndBridgeWindowsAreClaimed) {
    Bus bus;
    Fn vga; // decoding: two BARs
    vga.cmd = kCmdMemory;
    vga.size[0] = 16 * MiB, vga.bar[0] = 0xfd000000;
    vga.size[2] = 4096, vga.bar[2] = 0xfebd0000;
    bus.fns[1 << 3] = vga;
    Fn off = vga; // the same, memory decoding off: nothing of it is in use
    off.cmd = 0;
    bus.fns[2 << 3] = off;
    Fn mf0; // a multi-function device: function 0 and 3
    mf0.header = 0x80, mf0.cmd = kCmdMemory, mf0.size[0] = 0x1000, mf0.bar[0] = 0xfebd1000;
    bus.fns[3 << 3] = mf0;
    Fn mf3 = mf0;
    mf3.header = 0, mf3.bar[0] = 0xfebd2000;
    bus.fns[3 << 3 | 3] = mf3;
    Fn single; // function 4 of a single-function device: never looked at
    single.cmd = kCmdMemory, single.size[0] = 0x1000, single.bar[0] = 0xfebd3000;
    bus.fns[4 << 3] = Fn{};
    bus.fns[4 << 3 | 4] = single;
    Fn bridge;
    bridge.header = 1;
    bridge.regs[0] = 0xfe90fe80u; // memory window 0xfe800000-0xfe9fffff
    bridge.regs[1] = 0x0001fff1u; // prefetchable, 64-bit, base above limit: off
    bus.fns[5 << 3] = bridge;
    Fn bridge64;
    bridge64.header = 1;
    bridge64.regs[0] = 0x0000fff0u; // memory window off (base above limit)
    bridge64.regs[1] = 0x00110001u; // prefetchable 64-bit: 0x8_00000000-0x8_001fffff
    bridge64.regs[2] = 8, bridge64.regs[3] = 8;
    bus.fns[6 << 3] = bridge64;
    Claims c;
    const Result<u32> n = claim_decoding_bars(bus, c, 0);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(n.value(), 6u);
    EXPECT_EQ(claimed(c), (std::vector<std::pair<u64, u64>>{{0xfd000000, 16 * MiB},
                                                            {0xfebd0000, 4096},
                                                            {0xfebd1000, 0x1000},
                                                            {0xfebd2000, 0x1000},
                                                            {0xfe800000, 2 * MiB},
                                                            {0x800000000, 2 * MiB}}));
    EXPECT_EQ(bus.fns[1 << 3].bar[0], 0xfd000000u) << "sizing restored what firmware wrote";
    EXPECT_EQ(bus.fns[1 << 3].cmd, kCmdMemory) << "and its decoding";
}

TEST(PciClaims, RunningOutOfClaimsIsAnError) {
    Bus bus;
    for (u8 d = 0; d < 32; ++d) {
        Fn f;
        f.cmd = kCmdMemory, f.size[0] = 4096, f.bar[0] = 0xc0000000u + d * 0x1000u;
        f.size[1] = 4096, f.bar[1] = 0xd0000000u + d * 0x1000u;
        bus.fns[static_cast<u32>(d << 3)] = f;
    }
    Claims c;
    EXPECT_EQ(claim_decoding_bars(bus, c, 0).status(), Status::NoMemory);
    EXPECT_EQ(c.count(), Claims::kMax);
}

MemRange range(u64 base, u64 size) {
    MemRange r{};
    r.base = base, r.size = size;
    return r;
}

TEST(PciGap, TheLargestHoleBelowTheChipset) {
    // SeaBIOS's e820 for q35 with 512 MiB (as Keel prints it on x86_64.q35_* boots):
    // RAM to 0x1ffe0000, reserved to 0x20000000, MMCONFIG 0xb0000000-0xbfffffff, the
    // BIOS's top 256 KiB.
    const MemRange map[] = {range(0, 0x9fc00),          range(0x9fc00, 0x400),
                            range(0xf0000, 0x10000),    range(0x100000, 0x1fee0000),
                            range(0x1ffe0000, 0x20000), range(0xb0000000, 0x10000000),
                            range(0xfffc0000, 0x40000)};
    const Window w = largest_gap(map, 7, MiB, 0xfec00000);
    EXPECT_EQ(w.base, 0x20000000u);
    EXPECT_EQ(w.size, 0x90000000u) << "up to MMCONFIG: larger than 0xc0000000-0xfec00000";
    EXPECT_FALSE(w.is64);
    // Unsorted input, a range reaching past the top, and nothing free at all.
    const MemRange shuffled[] = {map[5], map[3], map[0], map[4]};
    EXPECT_EQ(largest_gap(shuffled, 4, MiB, 0xfec00000).base, 0x20000000u);
    const MemRange full[] = {range(0, 0x100000000ull)};
    EXPECT_EQ(largest_gap(full, 1, MiB, 0xfec00000).size, 0u);
    EXPECT_EQ(largest_gap(nullptr, 0, MiB, 0xfec00000).size, 0xfec00000u - MiB);
}

} // namespace
} // namespace keel::pci
