#include <gtest/gtest.h>

#include "hypervisor/mm/table_pool.hpp"

using namespace keel;
using namespace keel::mm;

namespace {
TableStorage<4> g_pages; // as the images declare theirs
constinit TablePool g_pool{g_pages};
} // namespace

TEST(TablePool, HandsOutZeroedPagesAndCountsPerTree) {
    PoolTables a, b;
    a.attach(g_pool);
    b.attach(g_pool);
    PhysAddr p1, p2, p3;
    u64* t1 = a.alloc_table(&p1);
    ASSERT_NE(t1, nullptr);
    EXPECT_EQ(reinterpret_cast<u64>(t1), p1.raw()); // identity: address == "physical"
    EXPECT_TRUE(p1.aligned(kPageSize));
    t1[7] = 0xdead;
    ASSERT_NE(a.alloc_table(&p2), nullptr);
    ASSERT_NE(b.alloc_table(&p3), nullptr);
    EXPECT_EQ(a.tables_in_use(), 2u);
    EXPECT_EQ(b.tables_in_use(), 1u);
    a.free_table(p1);
    EXPECT_EQ(a.tables_in_use(), 1u);
    PhysAddr again;
    u64* t = b.alloc_table(&again); // reuses the freed page, zeroed
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(again, p1);
    EXPECT_EQ(t[7], 0u);
    a.free_table(p2);
    b.free_table(p3);
    b.free_table(again);
    EXPECT_EQ(a.tables_in_use(), 0u);
    EXPECT_EQ(b.tables_in_use(), 0u);
}

TEST(TablePool, ExhaustionAndForeignFreesChangeNothing) {
    PoolTables t;
    PhysAddr got[5];
    EXPECT_EQ(t.alloc_table(&got[0]), nullptr); // not attached yet
    t.attach(g_pool);
    for (int i = 0; i < 4; ++i)
        ASSERT_NE(t.alloc_table(&got[i]), nullptr);
    EXPECT_EQ(t.alloc_table(&got[4]), nullptr);
    EXPECT_EQ(t.tables_in_use(), 4u);
    t.free_table(PhysAddr(got[0].raw() + 8)); // not a page boundary
    t.free_table(PhysAddr(0x1000));           // not from the pool
    EXPECT_EQ(t.tables_in_use(), 4u);
    EXPECT_FALSE(g_pool.free(PhysAddr(0x1000)));
    for (int i = 0; i < 4; ++i)
        t.free_table(got[i]);
    t.free_table(got[0]); // double free: ignored
    EXPECT_EQ(t.tables_in_use(), 0u);
}

// Live update (docs/handover.md §2.2 OldImage, §4 step 4): the stage-2 pool moves onto a run
// of the partition pool while no page is in use, and the incoming image claims the pages of
// an adopted tree where they are, without zeroing them, each exactly once.
TEST(TablePool, MovesOntoARegionAndAdoptsATreesPagesInPlace) {
    TableStorage<2> own{};
    TablePool pool{own};
    PoolTables t;
    t.attach(pool);
    PhysAddr busy;
    ASSERT_NE(t.alloc_table(&busy), nullptr);
    alignas(kPageSize) static u64 region[8][kEntriesPerTable];
    bool used[8] = {true, true, true, true, true, true, true, true};
    EXPECT_EQ(pool.use_storage(region, used, 8), Status::BadState) << "a page is in use";
    EXPECT_EQ(pool.capacity(), 2u);
    t.free_table(busy);
    ASSERT_EQ(pool.use_storage(region, used, 8), Status::Ok);
    EXPECT_EQ(pool.capacity(), 8u);
    EXPECT_EQ(pool.in_use(), 0u) << "the flags are cleared";
    region[3][5] = 0x1234; // a table of the outgoing image's tree
    const PhysAddr page3(reinterpret_cast<u64>(region[3]));
    EXPECT_TRUE(pool.adopt(page3));
    EXPECT_FALSE(pool.adopt(page3)) << "claimed twice";
    EXPECT_FALSE(pool.adopt(PhysAddr(page3.raw() + 8))) << "not a page boundary";
    EXPECT_FALSE(pool.adopt(PhysAddr(reinterpret_cast<u64>(own.pages[0])))) << "not in the region";
    EXPECT_EQ(region[3][5], 0x1234u) << "adopted as it is, not zeroed";
    EXPECT_EQ(pool.in_use(), 1u);
    PhysAddr p;
    for (int i = 0; i < 7; ++i) {
        ASSERT_NE(t.alloc_table(&p), nullptr);
        EXPECT_NE(p, page3) << "never handed out while adopted";
    }
    EXPECT_EQ(t.alloc_table(&p), nullptr);
    EXPECT_TRUE(pool.free(page3));
}

// TableRegion (live update's table region, docs/handover.md §2.2 OldImage tables_base): one
// region of exactly N pages, page-aligned, once; the pool allocates from it afterwards.
TEST(TablePool, ARegionIsTakenOnceWholeAndAligned) {
    TableStorage<1> own{};
    TablePool pool{own};
    alignas(kPageSize) static u64 region[4][kEntriesPerTable];
    const u64 base = reinterpret_cast<u64>(region);
    TableRegion<4> r;
    EXPECT_EQ(r.base(), 0u);
    EXPECT_EQ(r.use(pool, base, 3 * kPageSize), Status::InvalidArgument) << "not N pages";
    EXPECT_EQ(r.use(pool, base + 8, 4 * kPageSize), Status::InvalidArgument) << "misaligned";
    EXPECT_EQ(pool.capacity(), 1u) << "nothing changed";
    ASSERT_EQ(r.use(pool, base, 4 * kPageSize), Status::Ok);
    EXPECT_EQ(r.base(), base);
    EXPECT_EQ(pool.capacity(), 4u);
    EXPECT_EQ(r.use(pool, base, 4 * kPageSize), Status::InvalidArgument) << "a second region";
    PhysAddr p;
    ASSERT_NE(pool.alloc(&p), nullptr);
    EXPECT_GE(p.raw(), base);
    EXPECT_LT(p.raw(), base + 4 * kPageSize) << "allocated from the region";
}
