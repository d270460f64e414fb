// From the firmware's memory map to the partition pool (issue 10 item 7): the boot stage's
// translation of a UEFI map (boot/memory_map.cpp), the platform taking it over the device
// tree's /memory nodes (Platform::take_boot_map), and the pool built from the result. The
// expected pool is computed here, block by block, from the hand-written map: a 2 MiB block is
// pool memory exactly when all of it is EfiConventionalMemory and none of it is reserved by
// the map, the device tree, the image or the DTB.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "boot/memory_map.hpp"
#include "hypervisor/platform.hpp"
#include "hypervisor/vm/partitions.hpp"

namespace keel {
namespace {

// EFI_MEMORY_TYPE values, UEFI 2.10 Table 7.5.
enum Efi : u32 {
    kReservedType = 0,
    kLoaderCode = 1,
    kLoaderData = 2,
    kBsCode = 3,
    kBsData = 4,
    kRtCode = 5,
    kRtData = 6,
    kConventional = 7,
    kUnusable = 8,
    kAcpiReclaim = 9,
    kAcpiNvs = 10,
    kMmio = 11,
    kMmioPort = 12,
    kPalCode = 13,
    kPersistent = 14,
};

struct Desc {
    u32 type;
    u64 base;
    u64 pages;
};

// A GetMemoryMap() buffer with the firmware's usual descriptor stride (48 bytes: version 1
// descriptors are 40, and firmware pads them).
constexpr u64 kStride = 48;
std::vector<u8> efi_map(const std::vector<Desc>& descs) {
    std::vector<u8> buf(descs.size() * kStride, 0xcc);
    for (usize i = 0; i < descs.size(); ++i) {
        efi::MemoryDescriptor d{};
        d.type = descs[i].type;
        d.physical_start = descs[i].base;
        d.virtual_start = 0;
        d.pages = descs[i].pages;
        d.attribute = 0xf;
        std::memcpy(buf.data() + i * kStride, &d, sizeof d);
    }
    return buf;
}

BootInfo boot_info(const std::vector<Desc>& descs) {
    BootInfo bi{};
    const auto buf = efi_map(descs);
    fill_memory(bi, buf.data(), buf.size(), kStride);
    return bi;
}

TEST(BootMemoryMap, OnlyConventionalMemoryIsUsable) {
    for (u32 t = 0; t <= 20; ++t) {
        const MemType want = t == kConventional  ? MemType::Usable
                             : t == kAcpiReclaim ? MemType::AcpiReclaim
                                                 : MemType::Reserved;
        EXPECT_EQ(mem_type_of(t), want) << "EFI type " << t;
    }
}

TEST(BootMemoryMap, MergesNeighboursKeepsTypesAndLeavesMmioOut) {
    const BootInfo bi = boot_info({
        {kConventional, 0x40000000, 0x100},  // 1 MiB
        {kConventional, 0x40100000, 0x100},  // merges: one conventional range
        {kBsData, 0x40200000, 0x10},         // reserved now
        {kRtData, 0x40210000, 0x10},         // reserved, merges: mixed
        {kMmio, 0x09000000, 0x1},            // left out
        {kLoaderData, 0x40300000, 0x20},     // not adjacent to the last: its own
        {kAcpiReclaim, 0x40320000, 0x4},     //
        {kConventional, 0x40324000, 0x1000}, //
        {kMmioPort, 0x3eff0000, 0x10},       // left out
    });
    ASSERT_EQ(bi.mem_count, 5u);
    EXPECT_EQ(bi.mem[0].base, 0x40000000u);
    EXPECT_EQ(bi.mem[0].size, 0x200000u);
    EXPECT_EQ(bi.mem[0].type, MemType::Usable);
    EXPECT_EQ(bi.mem[0].uefi_type, kConventional + 1);
    EXPECT_EQ(bi.mem[1].base, 0x40200000u);
    EXPECT_EQ(bi.mem[1].size, 0x20000u);
    EXPECT_EQ(bi.mem[1].type, MemType::Reserved);
    EXPECT_EQ(bi.mem[1].uefi_type, MemRange::kUefiMixed);
    EXPECT_EQ(bi.mem[2].uefi_type, kLoaderData + 1);
    EXPECT_EQ(bi.mem[3].type, MemType::AcpiReclaim);
    EXPECT_EQ(bi.mem[4].type, MemType::Usable);
    EXPECT_EQ(bi.mem[4].size, 0x1000000u);
}

TEST(BootMemoryMap, NonsenseAndOverflowNeverBecomeUsable) {
    // No descriptor size, or one too small to hold a descriptor: an empty map.
    const auto buf = efi_map({{kConventional, 0x40000000, 0x100}});
    BootInfo bi{};
    fill_memory(bi, buf.data(), buf.size(), 0);
    EXPECT_EQ(bi.mem_count, 0u);
    fill_memory(bi, buf.data(), buf.size(), 8);
    EXPECT_EQ(bi.mem_count, 0u);
    // A range that wraps past the top of the address space is left out.
    const BootInfo wrap = boot_info(
        {{kConventional, 0xfffffffffff00000, 0x1000}, {kConventional, 0x40000000, 0x100}});
    ASSERT_EQ(wrap.mem_count, 1u);
    EXPECT_EQ(wrap.mem[0].base, 0x40000000u);
    // Over 64 ranges: the rest stays unknown (not Usable, not anything).
    std::vector<Desc> many;
    for (u64 i = 0; i < 70; ++i)
        many.push_back({i % 2 ? kRtData : kConventional, 0x40000000 + i * 0x200000, 0x200});
    const BootInfo full = boot_info(many);
    EXPECT_EQ(full.mem_count, BootInfo::kMaxMem);
    EXPECT_EQ(full.mem[63].base + full.mem[63].size, 0x40000000u + 64 * 0x200000);
}

// The machine: 1 GiB of RAM at 0x40000000 as the device tree's /memory node says it, with
// the firmware's map carving runtime services, loader data (image, boot info, event log,
// DTB copy), boot-services memory and ACPI tables out of it, and the device tree reserving a
// TPM log and a CMA area (/reserved-memory) and one /memreserve/ range.
constexpr u64 kImage = 0x60000000, kImageSize = 0x180000; // inside the loader data below
constexpr u64 kDtb = 0x7e000000;
const std::vector<Desc> kFirmwareMap = {
    {kConventional, 0x40000000, 0x8000},  // 0x40000000-0x47ffffff
    {kRtData, 0x48000000, 0x3},           // 12 KiB of runtime data: its 2 MiB block is lost
    {kConventional, 0x48003000, 0x7ffd},  // up to 0x4fffffff
    {kRtCode, 0x50000000, 0x200},         // 2 MiB runtime code
    {kConventional, 0x50200000, 0xfe00},  // up to 0x5fffffff
    {kLoaderData, 0x60000000, 0x400},     // image, boot info, event log
    {kBsData, 0x60400000, 0x1c00},        // the stage's and firmware's state
    {kConventional, 0x62000000, 0x1be00}, // up to 0x7ddfffff
    {kAcpiReclaim, 0x7de00000, 0x20},     //
    {kAcpiNvs, 0x7de20000, 0x20},         //
    {kConventional, 0x7de40000, 0x1c0},   // 0x7de40000-0x7dffffff: no whole block
    {kLoaderData, 0x7e000000, 0x10},      // the DTB copy
    {kConventional, 0x7e010000, 0x1ff0},  // up to 0x7fffffff
};
struct Reservation {
    u64 base, size;
};
const Reservation kDtbReserved[] = {{0x44000000, 0x1000}, {0x56000000, 0x800000}};
const Reservation kMemreserve = {0x70100000, 0x10000};

// What the block at `a` should be, from the map and the reservations alone.
bool expect_pool_block(u64 a) {
    const u64 end = a + 2 * MiB;
    auto overlaps = [&](u64 b, u64 s) { return b < end && a < b + s; };
    bool inside_conventional = false;
    for (const Desc& d : kFirmwareMap) {
        const u64 b = d.base, s = d.pages * 4096;
        if (d.type == kConventional && b <= a && end <= b + s) inside_conventional = true;
        if (d.type != kConventional && overlaps(b, s)) return false;
    }
    for (const Reservation& r : kDtbReserved)
        if (overlaps(r.base, r.size)) return false;
    if (overlaps(kMemreserve.base, kMemreserve.size)) return false;
    if (overlaps(kImage, kImageSize) || overlaps(kDtb, 2 * MiB)) return false;
    return inside_conventional;
}

Platform dtb_platform() {
    Platform p;
    EXPECT_TRUE(p.add_mem(0x40000000, GiB, MemType::Usable)); // /memory
    for (const Reservation& r : kDtbReserved)
        EXPECT_TRUE(p.add_mem(r.base, r.size, MemType::Reserved));
    EXPECT_TRUE(p.add_mem(kMemreserve.base, kMemreserve.size, MemType::Reserved));
    return p;
}

TEST(BootMemoryMap, PoolIsConventionalMemoryMinusEveryReservation) {
    BootInfo bi = boot_info(kFirmwareMap);
    bi.source = BootSource::Uefi;
    bi.image_base = kImage;
    bi.image_size = kImageSize;
    bi.dtb = kDtb;
    Platform p = dtb_platform();
    ASSERT_EQ(p.take_boot_map(bi), Status::Ok);
    for (u32 i = 0; i < p.mem_count; ++i) {
        if (p.mem[i].type == MemType::Usable) {
            EXPECT_EQ(p.mem[i].uefi_type, kConventional + 1) << "the /memory node is gone";
        }
    }
    ASSERT_EQ(pool_init(bi, p), Status::Ok);
    u64 expected_free = 0;
    for (u64 a = 0x3fe00000; a < 0x80200000; a += 2 * MiB) {
        const bool want = expect_pool_block(a);
        expected_free += want ? 2 * MiB : 0;
        const Status got = pool_check_source(PhysAddr(a), 2 * MiB);
        EXPECT_EQ(got == Status::Ok, want) << std::hex << "block " << a;
        if (!want) {
            EXPECT_EQ(got, Status::OutOfRange) << std::hex << "block " << a;
        }
    }
    EXPECT_EQ(pool_free_bytes(), expected_free);
    EXPECT_GT(expected_free, 800 * MiB); // the map leaves most of the GiB to the pool
}

// The old way, for contrast: the /memory node alone makes runtime services, loader data and
// boot-services memory pool memory. Taking the map is what keeps them out.
TEST(BootMemoryMap, WithoutTheMapRuntimeMemoryWouldBePooled) {
    BootInfo bi{};
    bi.image_base = kImage;
    bi.image_size = kImageSize;
    bi.dtb = kDtb;
    ASSERT_EQ(pool_init(bi, dtb_platform()), Status::Ok);
    EXPECT_EQ(pool_check_source(PhysAddr(0x50000000), 2 * MiB), Status::Ok);
    EXPECT_FALSE(expect_pool_block(0x50000000));
}

TEST(BootMemoryMap, OverlappingUsableRangesAreRefusedAndLeaveNoPool) {
    BootInfo bi = boot_info({{kConventional, 0x40000000, 0x10000}});
    bi.mem[1] = MemRange{0x48000000, 0x10000000, MemType::Usable, kConventional + 1};
    bi.mem_count = 2; // a firmware bug: two conventional ranges over each other
    Platform p;
    ASSERT_EQ(p.take_boot_map(bi), Status::Ok);
    EXPECT_EQ(pool_init(bi, p), Status::AlreadyExists);
    EXPECT_EQ(pool_free_bytes(), 0u);
    EXPECT_EQ(pool_check_source(PhysAddr(0x40000000), 2 * MiB), Status::OutOfRange);
}

TEST(BootMemoryMap, AnEmptyMapIsRefused) {
    BootInfo bi{};
    Platform p = dtb_platform();
    EXPECT_EQ(p.take_boot_map(bi), Status::NotFound);
    bi.mem_count = BootInfo::kMaxMem + 1;
    EXPECT_EQ(p.take_boot_map(bi), Status::NotFound);
    EXPECT_EQ(p.usable_bytes(), GiB) << "a refused map changes nothing";
}

} // namespace
} // namespace keel
