// arm64 VM RAM prepared on first use (arch/arm64/ram_blocks.hpp): one caller zeroes and
// maps each block, everyone else sees it ready or waits, whatever the interleaving.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "arch/arm64/ram_blocks.hpp"

using namespace keel;
using keel::arm64::RamBlocks;
using Claim = RamBlocks::Claim;

namespace {

TEST(RamBlocks, OneClaimPerBlockThenReady) {
    auto r = std::make_unique<RamBlocks>();
    r->reset(130); // three bitmap words, the last partly used
    EXPECT_EQ(r->blocks(), 130u);
    for (u32 b : {0u, 63u, 64u, 129u}) {
        EXPECT_FALSE(r->ready(b));
        EXPECT_EQ(r->claim(b), Claim::Mine);
        EXPECT_EQ(r->claim(b), Claim::Busy); // claimed, not published
        EXPECT_FALSE(r->ready(b));
        r->publish(b);
        EXPECT_TRUE(r->ready(b));
        EXPECT_EQ(r->claim(b), Claim::Ready);
    }
    EXPECT_FALSE(r->ready(1)); // neighbours untouched
    EXPECT_FALSE(r->ready(65));
    EXPECT_EQ(r->claim(130), Claim::OutOfRange);
    EXPECT_FALSE(r->ready(130));
    r->publish(130); // ignored
    EXPECT_EQ(r->claim(RamBlocks::kMaxBlocks), Claim::OutOfRange);
    // A new VM in the slot: nothing is ready, whatever the last one used.
    r->reset(2);
    EXPECT_FALSE(r->ready(0));
    EXPECT_EQ(r->claim(0), Claim::Mine);
    EXPECT_EQ(r->claim(64), Claim::OutOfRange);
}

TEST(RamBlocks, ResetClampsToTheLargestVm) {
    auto r = std::make_unique<RamBlocks>();
    r->reset(RamBlocks::kMaxBlocks + 5);
    EXPECT_EQ(r->blocks(), RamBlocks::kMaxBlocks);
    EXPECT_EQ(r->claim(RamBlocks::kMaxBlocks - 1), Claim::Mine);
}

TEST(RamBlocks, RacingCallersGetExactlyOneOwnerPerBlock) {
    // Eight "vCPUs" touch the same 64 blocks in different orders; each block must be
    // prepared exactly once and nobody may see it ready before it was published.
    auto r = std::make_unique<RamBlocks>();
    constexpr u32 kBlocks = 64, kThreads = 8;
    r->reset(kBlocks);
    std::atomic<u32> prepared[kBlocks] = {};
    std::atomic<u32> early{0};
    std::vector<std::thread> threads;
    for (u32 t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (u32 i = 0; i < kBlocks; ++i) {
                const u32 b = (i * 7 + t * 13) % kBlocks;
                switch (r->claim(b)) {
                case Claim::Mine:
                    prepared[b].fetch_add(1);
                    r->publish(b);
                    break;
                case Claim::Busy:
                    while (!r->ready(b))
                        std::this_thread::yield();
                    [[fallthrough]];
                case Claim::Ready:
                    if (prepared[b].load() != 1) early.fetch_add(1);
                    break;
                case Claim::OutOfRange: early.fetch_add(1); break;
                }
            }
        });
    }
    for (auto& th : threads)
        th.join();
    for (u32 b = 0; b < kBlocks; ++b) {
        EXPECT_EQ(prepared[b].load(), 1u) << b;
        EXPECT_TRUE(r->ready(b));
    }
    EXPECT_EQ(early.load(), 0u);
}

} // namespace
