#include <algorithm>
#include <vector>
// The generic page-table engine against a reference model (a plain map from page to
// translation), for every format: stage-2, EPT, NPT, EL2 stage-1, x86 paging; and the
// descriptor bits of the two host formats against the manuals' tables.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "arch/arm64/el2_format.hpp"
#include "arch/arm64/stage2_format.hpp"
#include "arch/x86_64/ept_format.hpp"
#include "arch/x86_64/x86_paging_format.hpp"
#include "host_tables.hpp"
#include "hypervisor/mm/page_table.hpp"

using namespace keel;
using namespace keel::mm;
using keel::test::HostTables;

namespace {

struct Ref {
    u64 pa;
    Attrs attrs;
};

template <typename F>
class PageTableTest : public ::testing::Test {
protected:
    HostTables mem;
    PageTable<F> pt{mem};
    std::map<u64, Ref> ref; // page-aligned IA -> expected

    static typename PageTable<F>::Input in(u64 a) { return typename PageTable<F>::Input(a); }
    void SetUp() override { ASSERT_EQ(pt.init(), Status::Ok); }
    void TearDown() override {
        pt.destroy();
        EXPECT_EQ(mem.tables_in_use(), 0u);
    }
    static Attrs norm(Attrs a) { return F::leaf_attrs(F::make_leaf(PhysAddr(0), a, 3)); }
    void ref_map(u64 ia, u64 pa, u64 size, Attrs a) {
        for (u64 o = 0; o < size; o += kPageSize)
            ref[ia + o] = Ref{pa + o, norm(a)};
    }
    void ref_unmap(u64 ia, u64 size) {
        for (u64 o = 0; o < size; o += kPageSize)
            ref.erase(ia + o);
    }
    void check(u64 lo, u64 hi) {
        for (u64 a = lo; a < hi; a += kPageSize) {
            auto t = pt.translate(in(a + 0x123));
            auto it = ref.find(a);
            if (it == ref.end()) {
                ASSERT_FALSE(t.ok()) << std::hex << "unexpected mapping at " << a;
            } else {
                ASSERT_TRUE(t.ok()) << std::hex << "missing mapping at " << a;
                EXPECT_EQ(t.value().pa.raw(), it->second.pa + 0x123) << std::hex << a;
                EXPECT_EQ(t.value().attrs, it->second.attrs) << std::hex << a;
            }
        }
    }
};

using Formats = ::testing::Types<arm64::Stage2Format, x86::EptFormat, x86::NptFormat,
                                 arm64::El2Format, x86::PagingFormat>;
TYPED_TEST_SUITE(PageTableTest, Formats);

TYPED_TEST(PageTableTest, MapsWithLargestBlocks) {
    constexpr u64 kIa = 0x40000000, kPa = 0x80000000;
    ASSERT_EQ(this->pt.map(this->in(kIa), PhysAddr(kPa), GiB + 2 * MiB + 8 * KiB, Attrs{}),
              Status::Ok);
    // x86 paging has no 1 GiB pages (they need CPUID Page1GB): 2 MiB there.
    EXPECT_EQ(this->pt.translate(this->in(kIa)).value().level, TypeParam::block_allowed(1) ? 1 : 2);
    EXPECT_EQ(this->pt.translate(this->in(kIa + GiB)).value().level, 2);
    EXPECT_EQ(this->pt.translate(this->in(kIa + GiB + 2 * MiB)).value().level, 3);
    EXPECT_EQ(this->pt.translate(this->in(kIa + GiB + 2 * MiB + 4096)).value().pa.raw(),
              kPa + GiB + 2 * MiB + 4096);
    EXPECT_FALSE(this->pt.translate(this->in(kIa + GiB + 2 * MiB + 8 * KiB)).ok());
    // Misaligned physical address forces smaller leaves.
    ASSERT_EQ(this->pt.map(this->in(0x200000), PhysAddr(0x1000), 2 * MiB, Attrs{}), Status::Ok);
    EXPECT_EQ(this->pt.translate(this->in(0x200000)).value().level, 3);
}

TYPED_TEST(PageTableTest, RefusesOverlapAndBadArguments) {
    ASSERT_EQ(this->pt.map(this->in(0x200000), PhysAddr(0x400000), 2 * MiB, Attrs{}), Status::Ok);
    EXPECT_EQ(this->pt.map(this->in(0x3ff000), PhysAddr(0x0), 8 * KiB, Attrs{}),
              Status::AlreadyExists);
    // The failed map changed nothing (0x400000 stays unmapped).
    EXPECT_FALSE(this->pt.translate(this->in(0x400000)).ok());
    EXPECT_EQ(this->pt.map(this->in(0x1001), PhysAddr(0), 4096, Attrs{}), Status::InvalidArgument);
    EXPECT_EQ(this->pt.map(this->in(0x1000), PhysAddr(0x10), 4096, Attrs{}),
              Status::InvalidArgument);
    EXPECT_EQ(this->pt.map(this->in(0x1000), PhysAddr(0), 0, Attrs{}), Status::InvalidArgument);
    EXPECT_EQ(this->pt.map(this->in(1ull << TypeParam::kInputBits), PhysAddr(0), 4096, Attrs{}),
              Status::OutOfRange);
    EXPECT_EQ(this->pt.map(this->in(~0ull & ~0xfffull), PhysAddr(0), 8192, Attrs{}),
              Status::OutOfRange);
}

TYPED_TEST(PageTableTest, UnmapSplitsBlocksAndKeepsTheRest) {
    Attrs ro{true, false, false, false};
    ASSERT_EQ(this->pt.map(this->in(0x40000000), PhysAddr(0x80000000), GiB, ro), Status::Ok);
    this->ref_map(0x40000000, 0x80000000, GiB, ro);
    this->pt.clear_flush();
    ASSERT_EQ(this->pt.unmap(this->in(0x40000000 + 3 * MiB), 12 * KiB), Status::Ok);
    EXPECT_TRUE(this->pt.needs_flush());
    this->ref_unmap(0x40000000 + 3 * MiB, 12 * KiB);
    this->check(0x40000000 + 2 * MiB, 0x40000000 + 6 * MiB);
    EXPECT_EQ(this->pt.translate(this->in(0x40000000 + 3 * MiB + 12 * KiB)).value().level, 3);
    EXPECT_EQ(this->pt.translate(this->in(0x40000000 + 5 * MiB)).value().level, 2);
    // Unmapping everything frees every table but the root.
    ASSERT_EQ(this->pt.unmap(this->in(0x40000000), GiB), Status::Ok);
    EXPECT_EQ(this->mem.tables_in_use(), 1u);
}

TYPED_TEST(PageTableTest, AttributesRoundTrip) {
    Attrs dev{true, true, false, true};
    Attrs rx{true, false, true, false};
    ASSERT_EQ(this->pt.map(this->in(0x9000000), PhysAddr(0x9000000), 4096, dev), Status::Ok);
    ASSERT_EQ(this->pt.map(this->in(0x40000000), PhysAddr(0x40000000), 2 * MiB, rx), Status::Ok);
    EXPECT_EQ(this->pt.translate(this->in(0x9000000)).value().attrs, this->norm(dev));
    EXPECT_EQ(this->pt.translate(this->in(0x40100000)).value().attrs, this->norm(rx));
}

TYPED_TEST(PageTableTest, TableExhaustionFailsCleanly) {
    this->mem.limit_ = 3; // root + two tables: not enough for a 4 KiB leaf on 4 levels
    Status s = this->pt.map(this->in(0x1000), PhysAddr(0x1000), 4096, Attrs{});
    if (TypeParam::kTopLevel == 0) {
        EXPECT_EQ(s, Status::NoMemory);
        EXPECT_FALSE(this->pt.translate(this->in(0x1000)).ok());
        EXPECT_EQ(this->mem.tables_in_use(), 1u); // the tables made for it are freed
    } else {
        EXPECT_EQ(s, Status::Ok);
    }
    this->mem.limit_ = 0;
}

TYPED_TEST(PageTableTest, RandomOperationsMatchTheReference) {
    std::mt19937_64 rng(1234);
    constexpr u64 kSpan = 64 * MiB; // IA window [0, 64 MiB)
    for (int step = 0; step < 400; ++step) {
        u64 pages = 1 + rng() % 1100;
        u64 ia = (rng() % (kSpan / kPageSize - pages)) * kPageSize;
        if (rng() % 4 == 0) ia = align_down(ia, 2 * MiB);
        u64 size = pages * kPageSize;
        if (rng() % 3 == 0) {
            ASSERT_EQ(this->pt.unmap(this->in(ia), size), Status::Ok);
            this->ref_unmap(ia, size);
        } else {
            u64 pa = align_down(rng() % (1ull << 36), 2 * MiB) + (ia & (2 * MiB - 1));
            Attrs a{true, (rng() & 1) != 0, (rng() & 2) != 0, (rng() & 4) != 0};
            bool overlaps = false;
            for (u64 o = 0; o < size && !overlaps; o += kPageSize)
                overlaps = this->ref.count(ia + o);
            Status s = this->pt.map(this->in(ia), PhysAddr(pa), size, a);
            ASSERT_EQ(s, overlaps ? Status::AlreadyExists : Status::Ok);
            if (!overlaps) this->ref_map(ia, pa, size, a);
        }
    }
    this->check(0, kSpan);
}

TYPED_TEST(PageTableTest, PagesOnlyAndKeepSame) {
    const Attrs rw = host_attrs(HostMap::ReadWrite), ro = host_attrs(HostMap::ReadOnly);
    ASSERT_EQ(this->pt.map(this->in(2 * MiB), PhysAddr(2 * MiB), 2 * MiB, rw, Leaves::PagesOnly),
              Status::Ok);
    this->ref_map(2 * MiB, 2 * MiB, 2 * MiB, rw);
    EXPECT_EQ(this->pt.translate(this->in(2 * MiB)).value().level, 3);
    // Without KeepSame even the same mapping again is refused.
    EXPECT_EQ(this->pt.map(this->in(2 * MiB), PhysAddr(2 * MiB), 4096, rw), Status::AlreadyExists);
    // With it, the pages already there stay and the rest of the range is mapped, in 2 MiB
    // blocks where they fit (never over the table that holds the kept pages).
    ASSERT_EQ(
        this->pt.map(this->in(0), PhysAddr(0), 8 * MiB, rw, Leaves::Largest, Overlap::KeepSame),
        Status::Ok);
    this->ref_map(0, 0, 8 * MiB, rw);
    EXPECT_EQ(this->pt.translate(this->in(0)).value().level, 2);
    EXPECT_EQ(this->pt.translate(this->in(3 * MiB)).value().level, 3);
    EXPECT_EQ(this->pt.translate(this->in(6 * MiB)).value().level, 2);
    // Mapped otherwise than asked (attributes, output): refused, nothing changes.
    EXPECT_EQ(this->pt.map(this->in(8 * MiB - 4096), PhysAddr(8 * MiB - 4096), 8192, ro,
                           Leaves::PagesOnly, Overlap::KeepSame),
              Status::AlreadyExists);
    EXPECT_EQ(this->pt.map(this->in(8 * MiB), PhysAddr(0x1000000), 8192, rw, Leaves::PagesOnly,
                           Overlap::KeepSame),
              Status::Ok);
    this->ref_map(8 * MiB, 0x1000000, 8192, rw);
    EXPECT_EQ(this->pt.map(this->in(8 * MiB), PhysAddr(8 * MiB), 4096, rw, Leaves::PagesOnly,
                           Overlap::KeepSame),
              Status::AlreadyExists);
    this->check(0, 10 * MiB);
}

TYPED_TEST(PageTableTest, KeptTablesServeTheNextMap) {
    // A 2 MiB window at a fixed input address, mapped and unmapped again and again (the
    // arm64 EL2 window): the tables stay, so no map after the first allocates.
    constexpr u64 kWindow = 0x7fc0000000; // last GiB of a 39-bit space
    const Attrs rw = host_attrs(HostMap::ReadWrite);
    for (u64 pa = 0x80000000; pa < 0x80000000 + 8 * MiB; pa += 2 * MiB) {
        ASSERT_EQ(this->pt.map(this->in(kWindow), PhysAddr(pa), 2 * MiB, rw), Status::Ok);
        const usize tables = this->mem.tables_in_use();
        EXPECT_EQ(this->pt.translate(this->in(kWindow + 0x1234)).value().pa.raw(), pa + 0x1234);
        EXPECT_EQ(this->pt.translate(this->in(kWindow)).value().level, 2);
        EXPECT_EQ(this->pt.map(this->in(kWindow), PhysAddr(pa), 2 * MiB, rw),
                  Status::AlreadyExists);
        this->pt.clear_flush();
        ASSERT_EQ(this->pt.unmap(this->in(kWindow), 2 * MiB, EmptyTables::Keep), Status::Ok);
        EXPECT_TRUE(this->pt.needs_flush());
        EXPECT_FALSE(this->pt.translate(this->in(kWindow)).ok());
        EXPECT_EQ(this->mem.tables_in_use(), tables);
    }
    // A block larger than the kept table's entries goes below it instead of failing.
    ASSERT_EQ(this->pt.map(this->in(kWindow), PhysAddr(0x80000000), GiB, rw), Status::Ok);
    EXPECT_EQ(this->pt.translate(this->in(kWindow)).value().level, 2);
}

TYPED_TEST(PageTableTest, PageRunsCrossTablesAndKeepWhatIsThere) {
    // Pages only, 5 MiB + 3 pages from an unaligned start: the run goes through three
    // level-3 tables (one walk each), around pages already mapped exactly so.
    const Attrs rw = host_attrs(HostMap::ReadWrite), ro = host_attrs(HostMap::ReadOnly);
    constexpr u64 kIa = 2 * MiB - 3 * 4096, kSize = 5 * MiB + 3 * 4096;
    for (u64 kept : {kIa, 2 * MiB, 4 * MiB + 5 * 4096, kIa + kSize - 4096}) {
        ASSERT_EQ(this->pt.map(this->in(kept), PhysAddr(kept), 4096, rw, Leaves::PagesOnly),
                  Status::Ok);
    }
    // One page inside the range mapped otherwise: the whole call is refused, nothing added.
    ASSERT_EQ(this->pt.map(this->in(3 * MiB), PhysAddr(0x9000000), 4096, rw, Leaves::PagesOnly),
              Status::Ok);
    EXPECT_EQ(
        this->pt.map(this->in(kIa), PhysAddr(kIa), kSize, rw, Leaves::PagesOnly, Overlap::KeepSame),
        Status::AlreadyExists);
    for (u64 kept : {kIa, 2 * MiB, 4 * MiB + 5 * 4096, kIa + kSize - 4096})
        this->ref_map(kept, kept, 4096, rw);
    this->ref_map(3 * MiB, 0x9000000, 4096, rw);
    this->check(0, 8 * MiB);
    ASSERT_EQ(this->pt.unmap(this->in(3 * MiB), 4096), Status::Ok);
    this->ref_unmap(3 * MiB, 4096);
    // Kept pages with other attributes are a conflict too.
    EXPECT_EQ(
        this->pt.map(this->in(kIa), PhysAddr(kIa), kSize, ro, Leaves::PagesOnly, Overlap::KeepSame),
        Status::AlreadyExists);
    this->check(0, 8 * MiB);
    ASSERT_EQ(
        this->pt.map(this->in(kIa), PhysAddr(kIa), kSize, rw, Leaves::PagesOnly, Overlap::KeepSame),
        Status::Ok);
    this->ref_map(kIa, kIa, kSize, rw);
    this->check(0, 8 * MiB);
    EXPECT_EQ(this->pt.translate(this->in(4 * MiB)).value().level, 3);
    // Without KeepSame, a range over mapped pages is refused before anything is written.
    EXPECT_EQ(
        this->pt.map(this->in(kIa + kSize - 8192), PhysAddr(0), 3 * 4096, rw, Leaves::PagesOnly),
        Status::AlreadyExists);
    this->check(0, 8 * MiB);
}

TYPED_TEST(PageTableTest, MadeTablesServeBlockMapsLater) {
    // arm64 VM RAM: the tables for 2 MiB leaves first, nothing mapped; then block by block
    // (in any order), each map allocating no table.
    constexpr u64 kIa = 0x40000000, kPa = 0x80000000, kSize = 8 * MiB;
    EXPECT_EQ(this->pt.make_tables(this->in(kIa), kSize, TypeParam::kTopLevel),
              Status::InvalidArgument);
    EXPECT_EQ(this->pt.make_tables(this->in(kIa), kSize, 4), Status::InvalidArgument);
    ASSERT_EQ(this->pt.make_tables(this->in(kIa), kSize, 2), Status::Ok);
    const usize tables = this->mem.tables_in_use();
    EXPECT_EQ(tables, TypeParam::kTopLevel == 0 ? 3u : 2u); // root (+ level 1) + level 2
    this->check(kIa, kIa + kSize);                          // nothing mapped
    for (u64 b : {3u, 0u, 2u, 1u}) {
        ASSERT_EQ(this->pt.map(this->in(kIa + b * 2 * MiB), PhysAddr(kPa + b * 2 * MiB), 2 * MiB,
                               Attrs{}),
                  Status::Ok);
        EXPECT_EQ(this->pt.translate(this->in(kIa + b * 2 * MiB)).value().level, 2);
        EXPECT_EQ(this->mem.tables_in_use(), tables);
    }
    this->ref_map(kIa, kPa, kSize, Attrs{});
    this->check(kIa - 2 * MiB, kIa + kSize + 2 * MiB);
    // Out of table memory: NoMemory (destroy() in TearDown frees what was made).
    this->mem.limit_ = this->mem.tables_in_use();
    EXPECT_EQ(this->pt.make_tables(this->in(kIa + 2 * GiB), 2 * MiB, 3), Status::NoMemory);
    this->mem.limit_ = 0;
}

// Descriptor bits, written out from the manuals' tables (not computed by the formats).
struct HostRow {
    HostMap kind;
    u64 page;  // 4 KiB at 0x40201000 (level 3)
    u64 block; // 2 MiB at 0x40200000 (level 2)
};

void check_host_format_rows(const HostRow (&rows)[4], auto make_leaf, auto leaf_attrs,
                            auto is_leaf) {
    for (const HostRow& r : rows) {
        SCOPED_TRACE(static_cast<int>(r.kind));
        EXPECT_EQ(make_leaf(PhysAddr(0x40201000), host_attrs(r.kind), 3), r.page);
        EXPECT_EQ(make_leaf(PhysAddr(0x40200000), host_attrs(r.kind), 2), r.block);
        EXPECT_EQ(leaf_attrs(r.page), host_attrs(r.kind));
        EXPECT_EQ(leaf_attrs(r.block), host_attrs(r.kind));
        EXPECT_TRUE(is_leaf(r.page, 3));
        EXPECT_TRUE(is_leaf(r.block, 2));
    }
}

// ARM ARM D8.3 (VMSAv8-64 stage-1 block and page descriptors, EL2 regime): bit 0 valid,
// bit 1 page (level 3) or 0 = block, AttrIndx[4:2] (1 = Normal, 0 = Device with kMair),
// AP[2] bit 7 read-only, SH[9:8] 0b11 inner shareable, AF bit 10, XN bit 54.
TEST(El2Format, DescriptorBits) {
    using F = arm64::El2Format;
    const HostRow rows[] = {
        {HostMap::Text, 0x0000000040201787, 0x0000000040200785},
        {HostMap::ReadOnly, 0x0040000040201787, 0x0040000040200785},
        {HostMap::ReadWrite, 0x0040000040201707, 0x0040000040200705},
        {HostMap::Device, 0x0040000040201403, 0x0040000040200401},
    };
    check_host_format_rows(rows, F::make_leaf, F::leaf_attrs, F::is_leaf);
    // Table descriptor: valid, bit 1 set, next-level address.
    EXPECT_EQ(F::make_table(PhysAddr(0x40203000)), 0x0000000040203003u);
    EXPECT_FALSE(F::is_leaf(0x0000000040203003, 2));
    // 1 GiB block at level 1, read-write.
    EXPECT_EQ(F::make_leaf(PhysAddr(0x40000000), host_attrs(HostMap::ReadWrite), 1),
              0x0040000040000705u);
    EXPECT_EQ(F::kMair, 0xff04u); // Attr0 Device-nGnRE, Attr1 Normal WB RW-allocate
}

// SDM Vol. 3A 4.5, Tables 4-18 (PDE mapping a 2 MiB page), 4-19 (PTE) and 4-17 (PDE that
// references a page table): P bit 0, R/W bit 1, U/S bit 2 (clear: supervisor), PWT bit 3,
// PCD bit 4, A bit 5, D bit 6, PS bit 7 (PDE only), XD bit 63.
TEST(X86PagingFormat, EntryBits) {
    using F = x86::PagingFormat;
    const HostRow rows[] = {
        {HostMap::Text, 0x0000000040201001, 0x0000000040200081},
        {HostMap::ReadOnly, 0x8000000040201001, 0x8000000040200081},
        {HostMap::ReadWrite, 0x8000000040201003, 0x8000000040200083},
        {HostMap::Device, 0x800000004020101b, 0x800000004020009b},
    };
    check_host_format_rows(rows, F::make_leaf, F::leaf_attrs, F::is_leaf);
    EXPECT_EQ(F::make_table(PhysAddr(0x40203000)), 0x0000000040203003u);
    EXPECT_FALSE(F::is_leaf(0x0000000040203003, 2));
    // Accessed and Dirty, set by the CPU, change neither output nor permissions.
    EXPECT_EQ(F::leaf_attrs(0x8000000040201063), host_attrs(HostMap::ReadWrite));
    EXPECT_EQ(F::leaf_output(0x8000000040201063).raw(), 0x40201000u);
    EXPECT_FALSE(F::block_allowed(1)); // no 1 GiB pages without CPUID Page1GB
    EXPECT_TRUE(F::block_allowed(2));
}

// map_host: what el2_map and map_phys do on top of the engine.
template <typename F>
void check_map_host() {
    HostTables mem;
    PageTable<F> pt{mem};
    using In = typename PageTable<F>::Input;
    ASSERT_EQ(pt.init(), Status::Ok);
    ASSERT_EQ(map_host(pt, 0x40200800, 0x1000, HostMap::Text), Status::Ok); // two pages
    EXPECT_EQ(pt.translate(In(0x40200000)).value().level, 3);
    EXPECT_EQ(pt.translate(In(0x40201fff)).value().pa.raw(), 0x40201fffu);
    EXPECT_FALSE(pt.translate(In(0x40202000)).ok());
    EXPECT_EQ(map_host(pt, 0x40201000, 0x2000, HostMap::Text), Status::Ok); // same: kept
    EXPECT_TRUE(pt.translate(In(0x40202000)).ok());
    EXPECT_EQ(map_host(pt, 0x40200000, 1, HostMap::ReadWrite), Status::AlreadyExists);
    EXPECT_EQ(pt.translate(In(0x40200000)).value().attrs, host_attrs(HostMap::Text));
    EXPECT_EQ(map_host(pt, 0x1000, 0, HostMap::Device), Status::InvalidArgument);
    EXPECT_EQ(map_host(pt, ~0ull - 0xfff, 0x2000, HostMap::Device), Status::InvalidArgument);
    EXPECT_EQ(map_host(pt, 1ull << F::kInputBits, 0x1000, HostMap::Device), Status::OutOfRange);
    ASSERT_EQ(pt.unmap(In(0x40200000), 0x3000), Status::Ok);
    EXPECT_EQ(mem.tables_in_use(), 1u);
    pt.destroy();
}

TEST(HostTables, MapHostRoundsOutAndKeepsTheSame) {
    check_map_host<arm64::El2Format>();
    check_map_host<x86::PagingFormat>();
}

} // namespace

// adopt(): a second engine takes over a live tree at its root and reads it as it is (a live
// update's incoming image and the outgoing one's stage-2 tables, docs/handover.md §4).
TEST(HostTables, AdoptReadsAnExistingTreeInPlace) {
    using F = arm64::El2Format;
    using In = PageTable<F>::Input;
    HostTables mem;
    PageTable<F> live{mem};
    ASSERT_EQ(live.init(), Status::Ok);
    ASSERT_EQ(map_host(live, 0x40200000, 0x3000, HostMap::ReadWrite), Status::Ok);
    const usize tables = mem.tables_in_use();
    PageTable<F> adopted{mem};
    ASSERT_EQ(adopted.adopt(live.root()), Status::Ok);
    EXPECT_EQ(adopted.root().raw(), live.root().raw());
    EXPECT_EQ(adopted.translate(In(0x40202abc)).value().pa.raw(), 0x40202abcu);
    EXPECT_FALSE(adopted.translate(In(0x40203000)).ok());
    EXPECT_EQ(mem.tables_in_use(), tables) << "nothing allocated or rebuilt";
    EXPECT_EQ(adopted.adopt(live.root()), Status::BadState) << "one root per engine";
    // Every table page of the tree, the root first, each once: what an adopting image claims.
    std::vector<u64> pages;
    adopted.for_each_table([&](PhysAddr p) { pages.push_back(p.raw()); });
    ASSERT_EQ(pages.size(), tables) << "48-bit EL2 map of 3 pages: root, L1, L2, L3";
    EXPECT_EQ(pages[0], live.root().raw());
    std::sort(pages.begin(), pages.end());
    EXPECT_EQ(std::unique(pages.begin(), pages.end()), pages.end());
    live.destroy();
}
