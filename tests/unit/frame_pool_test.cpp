#include <gtest/gtest.h>

#include <vector>

#include "hypervisor/mm/frame_pool.hpp"

using namespace keel;
using namespace keel::mm;

namespace {

struct RecordingScrubber final : Scrubber {
    std::vector<std::pair<u64, u64>> calls;
    void zero(PhysAddr base, u64 size) override { calls.emplace_back(base.raw(), size); }
};

class FramePoolTest : public ::testing::Test {
protected:
    RecordingScrubber scrub;
    FramePool pool{scrub};
    void SetUp() override {
        // 1 GiB at 0x40000000 with the hypervisor's image in the first 2 MiB + a bit.
        ASSERT_EQ(pool.add_region(PhysAddr(0x40000000), GiB), Status::Ok);
        pool.reserve(PhysAddr(0x40200000), 0x50000);
    }
};

TEST_F(FramePoolTest, AccountsExactlyAndReturnsToBaseline) {
    const u64 baseline = pool.free_bytes();
    EXPECT_EQ(baseline, GiB - 2 * MiB);
    auto a = pool.alloc(512 * MiB, 1);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(pool.free_bytes(), baseline - 512 * MiB);
    EXPECT_EQ(pool.owned_bytes(1), 512 * MiB);
    EXPECT_EQ(pool.owner_of(a.value()), 1);
    EXPECT_EQ(pool.owner_of(PhysAddr(0x40200000)), kOwnerHypervisor);
    ASSERT_EQ(scrub.calls.size(), 1u); // zeroed before the owner gets it
    EXPECT_EQ(scrub.calls[0], std::make_pair(a.value().raw(), 512 * MiB));
    EXPECT_EQ(pool.free_all(1), 512 * MiB);
    EXPECT_EQ(pool.free_bytes(), baseline);
    EXPECT_EQ(scrub.calls.size(), 1u + 256u); // and scrubbed, block by block, when returned
}

TEST_F(FramePoolTest, OwnerZeroedAllocationsAreNotScrubbedUntilFreed) {
    // Zeroing::ByOwner: no scrub at allocation (the owner zeroes before anything reads);
    // freeing still scrubs every block, and the default still zeroes at once.
    auto a = pool.alloc(6 * MiB, 3, Zeroing::ByOwner);
    ASSERT_TRUE(a.ok());
    EXPECT_TRUE(scrub.calls.empty());
    EXPECT_EQ(pool.owned_bytes(3), 6 * MiB);
    auto b = pool.alloc(2 * MiB, 4);
    ASSERT_TRUE(b.ok());
    ASSERT_EQ(scrub.calls.size(), 1u);
    EXPECT_EQ(scrub.calls[0], std::make_pair(b.value().raw(), 2 * MiB));
    EXPECT_EQ(pool.free_all(3), 6 * MiB);
    EXPECT_EQ(scrub.calls.size(), 4u); // the three blocks, each on its way back
    EXPECT_EQ(scrub.calls[1].first, a.value().raw());
}

TEST_F(FramePoolTest, NeverGivesABlockToTwoOwners) {
    auto a = pool.alloc(3 * MiB, 1); // rounds up to 4 MiB
    auto b = pool.alloc(2 * MiB, 2);
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(b.ok());
    // Disjoint, whichever came first (first fit puts b in the lone block below the image).
    EXPECT_TRUE(b.value().raw() >= a.value().raw() + 4 * MiB ||
                b.value().raw() + 2 * MiB <= a.value().raw());
    // Freeing someone else's block, or a partly foreign range, changes nothing.
    EXPECT_EQ(pool.free(b.value(), 2 * MiB, 1), Status::BadState);
    EXPECT_EQ(pool.free(a.value(), 6 * MiB, 1), Status::BadState);
    EXPECT_EQ(pool.owner_of(a.value()), 1);
    EXPECT_EQ(pool.owner_of(b.value()), 2);
    EXPECT_EQ(pool.free(a.value(), 4 * MiB, 1), Status::Ok);
    EXPECT_EQ(pool.free(a.value(), 4 * MiB, 1), Status::BadState); // double free
}

TEST_F(FramePoolTest, RefusesWhatItCannotGive) {
    EXPECT_EQ(pool.alloc(2 * GiB, 1).status(), Status::NoMemory);
    EXPECT_EQ(pool.alloc(0, 1).status(), Status::InvalidArgument);
    EXPECT_EQ(pool.alloc(2 * MiB, kOwnerFree).status(), Status::InvalidArgument);
    EXPECT_EQ(pool.free(PhysAddr(0x1000), 2 * MiB, 1), Status::InvalidArgument);
    EXPECT_EQ(pool.free(PhysAddr(0x200000), 2 * MiB, 1), Status::OutOfRange);
    // Fragmentation: enough free blocks but no contiguous run. (First take the lone
    // block below the image so x, y, z are laid out back to back.)
    ASSERT_EQ(pool.alloc(2 * MiB, 9).value().raw(), 0x40000000u);
    auto x = pool.alloc(510 * MiB, 1);
    auto y = pool.alloc(2 * MiB, 2);
    auto z = pool.alloc(508 * MiB, 3);
    ASSERT_TRUE(x.ok() && y.ok() && z.ok());
    ASSERT_EQ(pool.free(x.value(), 510 * MiB, 1), Status::Ok);
    ASSERT_EQ(pool.free(z.value(), 508 * MiB, 3), Status::Ok);
    EXPECT_EQ(pool.free_bytes(), 1018 * MiB);
    EXPECT_EQ(pool.alloc(1018 * MiB, 4).status(), Status::NoMemory);
}

TEST_F(FramePoolTest, RegionsAreTrimmedAndMustNotOverlap) {
    EXPECT_EQ(pool.add_region(PhysAddr(0x40100000), 4 * MiB), Status::AlreadyExists);
    RecordingScrubber s2;
    FramePool p2(s2);
    EXPECT_EQ(p2.add_region(PhysAddr(0x100000), 5 * MiB), Status::Ok); // -> [2 MiB, 6 MiB)
    EXPECT_EQ(p2.total_bytes(), 4 * MiB);
    EXPECT_EQ(p2.add_region(PhysAddr(0x10000000), MiB), Status::Ok); // too small: ignored
    EXPECT_EQ(p2.total_bytes(), 4 * MiB);
    EXPECT_EQ(p2.add_region(PhysAddr(~0ull - MiB), 4 * MiB), Status::OutOfRange);
}

} // namespace
