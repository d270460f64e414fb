// The arm64 device-tree reader, run on the host against blobs dtc compiles from
// tests/data/*.dts at build time.
#include <gtest/gtest.h>

#include <cstring>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <libfdt.h>

#include "arch/arm64/dtb_platform.hpp"

using namespace keel;

namespace {
std::vector<char> load(const char* name) {
    std::ifstream f(std::string(KEEL_BUILD_DIR) + "/test-dtbs/" + name, std::ios::binary);
    std::vector<char> blob((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    blob.resize(blob.size() + 64); // slack so truncation tests stay inside the vector
    return blob;
}
} // namespace

TEST(DtbPlatform, ReadsEverythingKeelNeeds) {
    auto blob = load("virt-2mem.dtb");
    Platform p;
    ASSERT_EQ(arm64::dtb_read_platform(blob.data(), p), Status::Ok);
    ASSERT_EQ(p.mem_count, 3u);
    EXPECT_EQ(p.mem[0].base, 0x40000000u);
    EXPECT_EQ(p.mem[0].size, 0x20000000u);
    EXPECT_EQ(p.mem[2].base, 0x100000000u);
    EXPECT_EQ(p.usable_bytes(), 0x20000000u + 0x10000000u + 0x40000000u);
    ASSERT_EQ(p.cpu_count, 4u);
    EXPECT_EQ(p.cpus[2].hw_id, 0x100u);
    EXPECT_TRUE(p.cpus[2].enabled);
    EXPECT_FALSE(p.cpus[3].enabled);
    EXPECT_EQ(p.irq_kind, IrqControllerKind::GicV3);
    EXPECT_EQ(p.irq_dist_base, 0x8000000u);
    EXPECT_EQ(p.irq_redist_base, 0x80a0000u);
    EXPECT_EQ(p.uart_base, 0x9000000u);
    EXPECT_EQ(p.ecam_base, 0x4010000000u);
    EXPECT_EQ(p.pci_bus_end, 0xffu);
    EXPECT_EQ(p.psci, PsciConduit::Hvc);
}

TEST(DtbPlatform, ReadsBootargsInTheSameWalkAndTruncatesThem) {
    auto blob = load("virt-2mem.dtb");
    Platform p;
    char args[BootInfo::kCmdlineMax];
    ASSERT_EQ(arm64::dtb_read_platform(blob.data(), p, args, sizeof args), Status::Ok);
    EXPECT_EQ(p.mem_count, 3u);
    EXPECT_STREQ(args, "keel.test=fault console=pl011");
    Platform q;
    char small[6];
    ASSERT_EQ(arm64::dtb_read_platform(blob.data(), q, small, sizeof small), Status::Ok);
    EXPECT_STREQ(small, "keel.");
}

// /chosen/rng-seed comes out of the same walk: the 32 bytes the dump holds, big-endian
// cells as written in tests/data/qemu-virt-gicv3.dts (0x3ec52be2 first).
TEST(DtbPlatform, ReadsTheRngSeedInTheSameWalk) {
    auto blob = load("qemu-virt-gicv3.dtb");
    Platform p;
    arm64::DtbChosen chosen;
    ASSERT_EQ(arm64::dtb_read_platform(blob.data(), p, nullptr, 0, &chosen), Status::Ok);
    ASSERT_EQ(chosen.rng_seed_len, 32u);
    EXPECT_EQ(chosen.rng_seed[0], 0x3e);
    EXPECT_EQ(chosen.rng_seed[3], 0xe2);
    EXPECT_EQ(chosen.rng_seed[4], 0x13);
}

// The board every arm64 emulator test boots on, as QEMU generates it; the facts are the
// ones arm64.first_light expects on the console.
TEST(DtbPlatform, ReadsQemuVirt) {
    auto blob = load("qemu-virt-gicv3.dtb");
    Platform p;
    char args[BootInfo::kCmdlineMax];
    ASSERT_EQ(arm64::dtb_read_platform(blob.data(), p, args, sizeof args), Status::Ok);
    ASSERT_EQ(p.mem_count, 1u);
    EXPECT_EQ(p.mem[0].base, 0x40000000u);
    EXPECT_EQ(p.mem[0].size, 1ull << 30);
    ASSERT_EQ(p.cpu_count, 4u);
    EXPECT_EQ(p.cpus[3].hw_id, 3u);
    EXPECT_EQ(p.irq_kind, IrqControllerKind::GicV3);
    EXPECT_EQ(p.irq_dist_base, 0x8000000u);
    EXPECT_EQ(p.irq_redist_base, 0x80a0000u);
    EXPECT_EQ(p.irq_redist_size, 0xf60000u);
    EXPECT_EQ(p.uart_base, 0x9000000u);
    EXPECT_EQ(p.ecam_base, 0x4010000000u);
    EXPECT_EQ(p.ecam_size, 0x10000000u);
    EXPECT_EQ(p.pci_bus_start, 0u);
    EXPECT_EQ(p.pci_bus_end, 0xffu);
    EXPECT_EQ(p.psci, PsciConduit::Smc);
    EXPECT_STREQ(args, "keel.vm=cpus:1,mem:64M");
}

// A firmware tree is input: every truncation of the structure block is refused, never
// read past (ASan watches: the walk may only read the claimed block).
TEST(DtbPlatform, RefusesEveryTruncatedStructureBlock) {
    auto blob = load("qemu-virt-gicv3.dtb");
    const u32 struct_off = __builtin_bswap32(*reinterpret_cast<const u32*>(blob.data() + 8));
    const u32 struct_size = __builtin_bswap32(*reinterpret_cast<const u32*>(blob.data() + 36));
    for (u32 cut = 0; cut < struct_size; cut += 4) {
        std::vector<char> t = blob;
        // Claim a shorter structure block: the walk must stop at its end.
        const u32 be = __builtin_bswap32(cut);
        std::memcpy(t.data() + 36, &be, 4);
        Platform p;
        const Status s = arm64::dtb_read_platform(t.data(), p);
        EXPECT_NE(s, Status::Ok) << "cut at " << cut << " of " << struct_size;
    }
    EXPECT_EQ(struct_off % 4, 0u);
}

// Random damage anywhere in the tree: the walk answers (Ok or an error) and never reads
// outside the blob (ASan), whatever the lengths and offsets now say.
TEST(DtbPlatform, SurvivesRandomDamage) {
    auto blob = load("qemu-virt-gicv3.dtb");
    u32 seed = 12345;
    auto next = [&seed] { return seed = seed * 1103515245u + 12345u; };
    for (int round = 0; round < 2000; ++round) {
        std::vector<char> t = blob;
        for (int flips = 1 + static_cast<int>(next() % 4); flips > 0; --flips)
            t[next() % t.size()] ^= static_cast<char>(1u << (next() % 8));
        Platform p;
        char args[BootInfo::kCmdlineMax];
        (void)arm64::dtb_read_platform(t.data(), p, args, sizeof args);
        EXPECT_LE(p.mem_count, Platform::kMaxMem);
        EXPECT_LE(p.cpu_count, Platform::kMaxCpus);
    }
}

TEST(DtbPlatform, RejectsMachinesItCannotRun) {
    Platform p;
    auto none = load("no-cpus.dtb");
    EXPECT_EQ(arm64::dtb_read_platform(none.data(), p), Status::NotFound);
    Platform q;
    auto bad = load("bad-reg.dtb");
    EXPECT_EQ(arm64::dtb_read_platform(bad.data(), q), Status::Corrupt);
}

TEST(DtbPlatform, RejectsCorruptHeaders) {
    auto blob = load("virt-2mem.dtb");
    Platform p;
    std::vector<char> bad = blob;
    bad[0] ^= 0x01; // magic
    EXPECT_EQ(arm64::dtb_read_platform(bad.data(), p), Status::Corrupt);
    std::vector<char> zero(256, 0);
    EXPECT_EQ(arm64::dtb_read_platform(zero.data(), p), Status::Corrupt);
}

// /reserved-memory children with a reg (no-map, reusable, disabled alike) and /memreserve/
// entries become Reserved ranges beside the memory node; a size-only child reserves nothing.
TEST(DtbPlatform, ReadsReservedMemoryAndMemreserve) {
    auto blob = load("virt-reserved.dtb");
    Platform p;
    ASSERT_EQ(arm64::dtb_read_platform(blob.data(), p), Status::Ok);
    struct Want {
        u64 base, size;
        MemType type;
    } const want[] = {
        {0x40000000, 0x40000000, MemType::Usable}, {0x50000000, 0x1000, MemType::Reserved},
        {0x60000000, 0x800000, MemType::Reserved}, {0x70000000, 0x200000, MemType::Reserved},
        {0x48000000, 0x10000, MemType::Reserved},  {0x4c000000, 0x400000, MemType::Reserved},
    };
    ASSERT_EQ(p.mem_count, sizeof want / sizeof want[0]);
    for (u32 i = 0; i < p.mem_count; ++i) {
        EXPECT_EQ(p.mem[i].base, want[i].base) << i;
        EXPECT_EQ(p.mem[i].size, want[i].size) << i;
        EXPECT_EQ(p.mem[i].type, want[i].type) << i;
    }
    EXPECT_EQ(p.usable_bytes(), GiB);
}

// arm,gic-v3 binding: reg = GICD, then #redistributor-regions GICR ranges. Both ranges
// are kept; a count that names more ranges than reg holds is refused.
TEST(DtbPlatform, ReadsEveryRedistributorRegion) {
    auto blob = load("virt-2redist.dtb");
    Platform p;
    ASSERT_EQ(arm64::dtb_read_platform(blob.data(), p), Status::Ok);
    EXPECT_EQ(p.irq_redist_base, 0x80a0000u);
    EXPECT_EQ(p.irq_redist_size, 0x20000u);
    ASSERT_EQ(p.redist_more_count, 1u);
    EXPECT_EQ(p.redist_more[0].base, 0x100000000u);
    EXPECT_EQ(p.redist_more[0].size, 0x20000u);
    const int gic = fdt_path_offset(blob.data(), "/intc@8000000");
    ASSERT_GE(gic, 0);
    ASSERT_EQ(fdt_setprop_inplace_u32(blob.data(), gic, "#redistributor-regions", 3), 0);
    Platform q;
    EXPECT_EQ(arm64::dtb_read_platform(blob.data(), q), Status::Corrupt);
    ASSERT_EQ(fdt_setprop_inplace_u32(blob.data(), gic, "#redistributor-regions", 0), 0);
    EXPECT_EQ(arm64::dtb_read_platform(blob.data(), q), Status::Corrupt);
}
