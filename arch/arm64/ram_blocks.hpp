// Which 2 MiB blocks of a VM's RAM are ready for its guest: zeroed and mapped at stage 2
// (docs/performance.md "Boot": RAM is zeroed on first use, not when the VM is made).
// Two bits a block: `claimed` goes to the one caller that zeroes and maps the block,
// `ready` tells everyone it is done. A vCPU that faults on a block another is preparing
// waits for `ready`; nobody ever maps a block twice, and no block is mapped before it is
// zeroed. Pure (C++ atomics): host-tested (tests/unit/arm64_ram_blocks_test.cpp).
#pragma once

#include "hypervisor/mm/frame_pool.hpp"

namespace keel::arm64 {

class RamBlocks {
public:
    static constexpr u64 kBlock = mm::FramePool::kBlock;
    static constexpr u32 kMaxBlocks = mm::FramePool::kMaxBlocks; // a VM is at most the pool

    enum class Claim : u8 {
        Ready, // zeroed and mapped already
        Mine,  // the caller zeroes and maps it, then calls publish()
        Busy,  // another caller is preparing it: wait until ready()
        OutOfRange,
    };

    // Forgets every block; `blocks` is the VM's RAM in blocks (at most kMaxBlocks).
    void reset(u32 blocks) {
        blocks_ = blocks < kMaxBlocks ? blocks : kMaxBlocks;
        for (u32 w = 0; w < (blocks_ + 63) / 64; ++w) {
            __atomic_store_n(&claimed_[w], 0ull, __ATOMIC_RELAXED);
            __atomic_store_n(&ready_[w], 0ull, __ATOMIC_RELAXED);
        }
    }
    [[nodiscard]] u32 blocks() const { return blocks_; }

    Claim claim(u32 block) {
        if (block >= blocks_) return Claim::OutOfRange;
        if (ready(block)) return Claim::Ready;
        const u64 bit = 1ull << (block % 64);
        if (__atomic_fetch_or(&claimed_[block / 64], bit, __ATOMIC_ACQ_REL) & bit)
            return ready(block) ? Claim::Ready : Claim::Busy;
        return Claim::Mine;
    }
    // The block is zeroed and its stage-2 entry written (and made visible: DSB first).
    void publish(u32 block) {
        if (block < blocks_)
            __atomic_fetch_or(&ready_[block / 64], 1ull << (block % 64), __ATOMIC_RELEASE);
    }
    [[nodiscard]] bool ready(u32 block) const {
        return block < blocks_ &&
               (__atomic_load_n(&ready_[block / 64], __ATOMIC_ACQUIRE) >> (block % 64) & 1) != 0;
    }

private:
    u32 blocks_ = 0;
    // No initialisers: reset() writes the words a VM uses before anything reads them, and
    // a Vm's constructor does not clear 4 KiB per VM slot at boot.
    u64 claimed_[kMaxBlocks / 64];
    u64 ready_[kMaxBlocks / 64];
};

} // namespace keel::arm64
