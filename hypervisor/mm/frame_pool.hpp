// The partition pool: RAM the hypervisor hands to VMs, managed in 2 MiB blocks.
// Every block has exactly one owner (free, the hypervisor, or one VM), so no page
// can ever be given to two VMs. Blocks are zeroed before an owner gets them and
// scrubbed when returned; both go through a Scrubber the arch provides, which maps
// the block transiently (the pool is never in the hypervisor's own address space).
//
// Fixed-size metadata (no heap): one u16 owner per block, kMaxBlocks blocks.
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::mm {

using OwnerId = u16;
constexpr OwnerId kOwnerFree = 0;
constexpr OwnerId kOwnerHypervisor = 0xffff;

class Scrubber {
public:
    virtual void zero(PhysAddr base, u64 size) = 0;

protected:
    ~Scrubber() = default;
};

// Who zeroes the blocks alloc() hands out: the pool, before it returns (Now), or the
// owner, block by block before anything can read one (ByOwner: arm64 VMs zero a block
// on its first stage-2 fault or loader write, so no boot-time cost grows with a VM's
// size; arch::vm_zeroes_ram_on_first_use, docs/performance.md).
enum class Zeroing : u8 { Now, ByOwner };

class FramePool {
public:
    static constexpr u64 kBlock = 2 * MiB;
    static constexpr u32 kMaxBlocks = 16384; // 32 GiB of partitionable RAM
    static constexpr u32 kMaxRegions = 16;

    explicit FramePool(Scrubber& scrubber) : scrubber_(scrubber) {}

    // Forgets every region and owner (the pool is built again from the boot memory map).
    void clear() {
        for (u32 i = 0; i < total_blocks_; ++i) // only what regions used
            owners_[i] = kOwnerFree;
        region_count_ = total_blocks_ = free_blocks_ = 0;
    }
    // Adds usable RAM (trimmed inward to 2 MiB blocks). Regions must not overlap.
    Status add_region(PhysAddr base, u64 size);
    // Takes blocks overlapping [base, base+size) out of the pool for the hypervisor
    // (its image, tables, firmware reservations). Blocks already owned stay owned.
    void reserve(PhysAddr base, u64 size);

    // Gives `owner` the blocks overlapping [base, base+size) as they are (not zeroed: they
    // hold data someone left there, a guest source). Every block must be free pool RAM:
    // OutOfRange when one is outside the pool or the hypervisor's (image, firmware, boot
    // data), Busy when another owner has it; nothing changes then.
    Status claim(PhysAddr base, u64 size, OwnerId owner);
    // The check claim() makes, without taking anything.
    [[nodiscard]] Status check_claim(PhysAddr base, u64 size) const;
    // Allocates `size` bytes (rounded up to blocks), physically contiguous, for `owner`,
    // zeroed (or, with ByOwner, to be zeroed by the owner before any of it is read).
    // First fit, lowest address first.
    Result<PhysAddr> alloc(u64 size, OwnerId owner, Zeroing zeroing = Zeroing::Now);
    // Returns blocks to the pool after scrubbing them. Every block must belong to
    // `owner`; otherwise nothing changes and the call fails with BadState.
    Status free(PhysAddr base, u64 size, OwnerId owner);
    // Frees every block of `owner` (VM teardown); returns the bytes released.
    u64 free_all(OwnerId owner);

    [[nodiscard]] OwnerId owner_of(PhysAddr addr) const;
    [[nodiscard]] u64 free_bytes() const { return static_cast<u64>(free_blocks_) * kBlock; }
    [[nodiscard]] u64 total_bytes() const { return static_cast<u64>(total_blocks_) * kBlock; }
    [[nodiscard]] u64 owned_bytes(OwnerId owner) const;

private:
    struct Region {
        u64 base;  // 2 MiB aligned
        u32 first; // index of its first block in owners_
        u32 blocks;
    };
    // Block index of an address, or -1 if outside every region.
    [[nodiscard]] i64 index_of(u64 addr) const;
    [[nodiscard]] u64 addr_of(u32 region, u32 block) const;

    Scrubber& scrubber_;
    Region regions_[kMaxRegions]{};
    u32 region_count_ = 0;
    u32 total_blocks_ = 0;
    u32 free_blocks_ = 0;
    // Only the first total_blocks_ are ever read, and add_region writes each before
    // counting it: no initialiser, so constructing the pool (static storage, zero
    // already) does not clear 32 KiB at boot (issue 15).
    OwnerId owners_[kMaxBlocks];
};

} // namespace keel::mm
