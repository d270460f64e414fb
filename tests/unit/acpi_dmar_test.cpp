// DMAR (Intel VT-d spec chapter 8) on the table QEMU 7.2 generates (tests/data/acpi/,
// tools/acpi-dump): q35-vtd.bin is `-M q35 -smp 2 -m 512M -device intel-iommu -device
// nvme,serial=pf0,addr=0x3` (its default NIC at 00:02.0 and VGA at 00:01.0 included).
// Expected values come from QEMU's q35 board (the remapping unit at 0xfed90000,
// Q35_HOST_BRIDGE_IOMMU_ADDR; intel-iommu's default 39-bit address width and interrupt
// remapping on; the DRHD without INCLUDE_PCI_ALL, listing each function present at boot)
// and, for the synthetic tables, from the spec's layout: a 48-byte header, DRHD type 0
// with flags @4, segment @6, base @8 and device scopes (type, length, bus @5, path @6).
#include <gtest/gtest.h>

#include <vector>

#include "hypervisor/acpi/readers.hpp"
#include "tests/unit/acpi_dump.hpp"

namespace {

constexpr u16 rid(u8 bus, u8 dev, u8 fn) { return static_cast<u16>(bus << 8 | dev << 3 | fn); }

TEST(AcpiDmar, QemuQ35WithIntelIommu) {
    Platform p;
    const char* where = nullptr;
    ASSERT_EQ(read(tables("q35-vtd.bin"), acpi::Flavor::X86, p, &where), Status::Ok) << where;
    ASSERT_EQ(p.vtd_count, 1u);
    EXPECT_EQ(p.vtd[0].base, 0xfed90000u);
    EXPECT_EQ(p.vtd[0].segment, 0u);
    EXPECT_FALSE(p.vtd[0].include_all);
    EXPECT_EQ(p.dmar_haw, 39u);
    EXPECT_TRUE(p.dmar_intr_remap);
    EXPECT_EQ(p.dmar_rmrr_count, 0u);
    // The I/O APIC's scope entry (type 3) names no PCI function.
    std::vector<u16> rids;
    for (u32 i = 0; i < p.vtd_scope_count; ++i) {
        EXPECT_EQ(p.vtd_scopes[i].unit, 0u);
        EXPECT_FALSE(p.vtd_scopes[i].bridge);
        rids.push_back(p.vtd_scopes[i].rid);
    }
    EXPECT_EQ(rids, (std::vector<u16>{rid(0, 0, 0), rid(0, 1, 0), rid(0, 2, 0), rid(0, 3, 0),
                                      rid(0, 0x1f, 0), rid(0, 0x1f, 2), rid(0, 0x1f, 3)}));
    EXPECT_EQ(p.vtd_unit(rid(0, 3, 0)), 0u) << "the NVMe controller";
    EXPECT_EQ(p.vtd_unit(rid(0, 4, 0)), Platform::kNoVtd) << "listed by no unit";
}

TEST(AcpiDmar, NoIommuNoUnits) {
    Platform p;
    ASSERT_EQ(read(tables("q35.bin"), acpi::Flavor::X86, p, nullptr), Status::Ok);
    EXPECT_EQ(p.vtd_count, 0u);
    EXPECT_EQ(p.vtd_unit(0), Platform::kNoVtd);
}

// A DMAR with the given remapping structures after the 48-byte header (checksum not
// checked by the reader itself: tables.cpp does).
std::vector<u8> dmar(const std::vector<std::vector<u8>>& structs, u8 haw = 47, u8 flags = 0) {
    std::vector<u8> t(48, 0);
    t[36] = haw, t[37] = flags;
    for (const auto& s : structs)
        t.insert(t.end(), s.begin(), s.end());
    return t;
}
std::vector<u8> drhd(u64 base, u8 flags, const std::vector<std::vector<u8>>& scopes,
                     u16 segment = 0) {
    std::vector<u8> d(16, 0);
    d[4] = flags;
    d[6] = static_cast<u8>(segment), d[7] = static_cast<u8>(segment >> 8);
    for (usize i = 0; i < 8; ++i)
        d[8 + i] = static_cast<u8>(base >> (8 * i));
    for (const auto& s : scopes)
        d.insert(d.end(), s.begin(), s.end());
    d[2] = static_cast<u8>(d.size()), d[3] = static_cast<u8>(d.size() >> 8);
    return d;
}
std::vector<u8> scope(u8 type, u8 bus, std::vector<u8> path) {
    std::vector<u8> s{type, static_cast<u8>(6 + path.size()), 0, 0, 0, bus};
    s.insert(s.end(), path.begin(), path.end());
    return s;
}
Status parse(const std::vector<u8>& t, Platform& p) {
    return acpi::read_dmar(t.data(), static_cast<u32>(t.size()), p);
}

TEST(AcpiDmar, ListedFunctionsGoToTheirUnitTheRestToTheIncludeAllUnit) {
    Platform p;
    std::vector<u8> rmrr(32, 0); // type 1, length 32, the range itself not read
    rmrr[0] = 1, rmrr[2] = 32;
    const auto t = dmar({drhd(0xfed91000, 0, {scope(1, 0x40, {0x02, 0x1}), scope(2, 0, {0x1c, 0})}),
                         drhd(0xfed90000, 1, {scope(3, 0xf0, {0x1f, 0})}), rmrr});
    ASSERT_EQ(parse(t, p), Status::Ok);
    ASSERT_EQ(p.vtd_count, 2u);
    EXPECT_EQ(p.vtd[0].base, 0xfed91000u);
    EXPECT_TRUE(p.vtd[1].include_all);
    EXPECT_EQ(p.dmar_haw, 48u);
    EXPECT_FALSE(p.dmar_intr_remap);
    EXPECT_EQ(p.dmar_rmrr_count, 1u);
    ASSERT_EQ(p.vtd_scope_count, 2u);
    EXPECT_TRUE(p.vtd_scopes[1].bridge);
    EXPECT_EQ(p.vtd_unit(rid(0x40, 2, 1)), 0u);
    EXPECT_EQ(p.vtd_unit(rid(0x40, 2, 2)), 1u) << "not listed: the include-all unit";
    EXPECT_EQ(p.vtd_unit(rid(0, 0x1c, 0)), 1u) << "a bridge's scope: its subordinate buses "
                                                  "are not known from the table alone";
}

TEST(AcpiDmar, MalformedTablesAreRefusedAndChangeNothing) {
    Platform p;
    p.vtd_count = 0;
    const auto ok = drhd(0xfed90000, 1, {});
    struct Case {
        const char* what;
        std::vector<u8> table;
        Status want;
    } cases[] = {
        {"header cut short", std::vector<u8>(40, 0), Status::Corrupt},
        {"structure length past the table",
         [&] {
             auto t = dmar({ok});
             t[48 + 2] = 200;
             return t;
         }(),
         Status::Corrupt},
        {"structure length 0 (would loop)",
         [&] {
             auto t = dmar({ok});
             t[48 + 2] = 0;
             return t;
         }(),
         Status::Corrupt},
        {"register base not page aligned", dmar({drhd(0xfed90010, 1, {})}), Status::Corrupt},
        {"register base zero", dmar({drhd(0, 1, {})}), Status::Corrupt},
        {"scope length past its DRHD",
         [&] {
             auto d = drhd(0xfed90000, 0, {scope(1, 0, {3, 0})});
             d[16 + 1] = 20;
             return dmar({d});
         }(),
         Status::Corrupt},
        {"scope path of odd length", dmar({drhd(0xfed90000, 0, {scope(1, 0, {3, 0, 1})})}),
         Status::Corrupt},
        {"device number past 31", dmar({drhd(0xfed90000, 0, {scope(1, 0, {32, 0})})}),
         Status::Corrupt},
        {"five units", dmar({ok, ok, ok, ok, ok}), Status::OutOfRange},
    };
    for (const Case& c : cases) {
        EXPECT_EQ(parse(c.table, p), c.want) << c.what;
        EXPECT_EQ(p.vtd_count, 0u) << c.what;
        EXPECT_EQ(p.vtd_scope_count, 0u) << c.what;
    }
}

} // namespace
