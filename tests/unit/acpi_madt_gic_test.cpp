// MADT GIC entries (ACPI 6.5 5.2.12.14-18) built by hand from the specification's layouts:
// several GICR ranges, as multi-socket servers describe one per socket, are all kept;
// more than Keel has room for is refused rather than silently dropping a core's
// redistributor. The matching device-tree case (#redistributor-regions) is in
// dtb_platform_test.cpp.
#include <gtest/gtest.h>

#include <vector>

#include "hypervisor/acpi/madt.hpp"

using namespace keel;
using Bytes = std::vector<u8>;

namespace {

void put(Bytes& b, usize off, u64 v, usize n) {
    for (usize i = 0; i < n; ++i)
        b[off + i] = static_cast<u8>(v >> (8 * i));
}

// A MADT (header + local interrupt controller address + flags) with two enabled GICCs
// (MPIDR 0x0 and 0x10000), a GICv3 GICD and `gicrs` GICR entries of 128 KiB each.
Bytes madt(u32 gicrs) {
    Bytes t(44, 0);
    auto entry = [&t](u8 type, u8 len) {
        const usize at = t.size();
        t.resize(at + len, 0);
        t[at] = type, t[at + 1] = len;
        return at;
    };
    for (u64 mpidr : {0x0ull, 0x10000ull}) {
        const usize e = entry(0xB, 80);
        put(t, e + 8, mpidr >> 16, 4); // uid
        put(t, e + 12, 1, 4);          // enabled
        put(t, e + 68, mpidr, 8);
    }
    const usize d = entry(0xC, 24);
    put(t, d + 8, 0x8000000, 8);
    t[d + 20] = 3; // GICv3
    for (u32 i = 0; i < gicrs; ++i) {
        const usize r = entry(0xE, 16);
        put(t, r + 4, 0x80a0000 + u64{i} * 0x100000000ull, 8);
        put(t, r + 12, 0x20000, 4);
    }
    put(t, 4, t.size(), 4);
    return t;
}

} // namespace

TEST(AcpiMadtGic, EveryRedistributorRangeIsKept) {
    const Bytes t = madt(3);
    Platform p;
    ASSERT_EQ(acpi::read_madt(t.data(), static_cast<u32>(t.size()), p), Status::Ok);
    EXPECT_EQ(p.irq_kind, IrqControllerKind::GicV3);
    EXPECT_EQ(p.irq_redist_base, 0x80a0000u);
    EXPECT_EQ(p.irq_redist_size, 0x20000u);
    ASSERT_EQ(p.redist_more_count, 2u);
    EXPECT_EQ(p.redist_more[0].base, 0x1080a0000u);
    EXPECT_EQ(p.redist_more[1].base, 0x2080a0000u);
    EXPECT_EQ(p.redist_more[1].size, 0x20000u);
}

TEST(AcpiMadtGic, OneRangeHasNoMore) {
    const Bytes t = madt(1);
    Platform p;
    ASSERT_EQ(acpi::read_madt(t.data(), static_cast<u32>(t.size()), p), Status::Ok);
    EXPECT_EQ(p.redist_more_count, 0u);
}

TEST(AcpiMadtGic, MoreRangesThanRoomAreRefused) {
    const Bytes t = madt(1 + Platform::kMaxMoreRedist + 1);
    Platform p;
    EXPECT_EQ(acpi::read_madt(t.data(), static_cast<u32>(t.size()), p), Status::OutOfRange);
}

TEST(AcpiMadtGic, GicV3WithoutRedistributorsIsRefused) {
    const Bytes t = madt(0);
    Platform p;
    EXPECT_EQ(acpi::read_madt(t.data(), static_cast<u32>(t.size()), p), Status::NotFound);
}
