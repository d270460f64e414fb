#include "hypervisor/mm/frame_pool.hpp"

namespace keel::mm {

Status FramePool::add_region(PhysAddr base, u64 size) {
    u64 start = align_up(base.raw(), kBlock);
    if (base.raw() + size < base.raw()) return Status::OutOfRange;
    u64 end = align_down(base.raw() + size, kBlock);
    if (end <= start) return Status::Ok; // smaller than a block: nothing to add
    if (region_count_ == kMaxRegions) return Status::NoMemory;
    for (u32 i = 0; i < region_count_; ++i) {
        u64 rs = regions_[i].base, re = rs + static_cast<u64>(regions_[i].blocks) * kBlock;
        if (start < re && rs < end) return Status::AlreadyExists;
    }
    u64 blocks = (end - start) / kBlock;
    if (blocks > kMaxBlocks - total_blocks_) blocks = kMaxBlocks - total_blocks_;
    if (blocks == 0) return Status::NoMemory;
    regions_[region_count_++] = Region{start, total_blocks_, static_cast<u32>(blocks)};
    for (u32 i = 0; i < blocks; ++i)
        owners_[total_blocks_ + i] = kOwnerFree;
    total_blocks_ += static_cast<u32>(blocks);
    free_blocks_ += static_cast<u32>(blocks);
    return Status::Ok;
}

i64 FramePool::index_of(u64 addr) const {
    for (u32 i = 0; i < region_count_; ++i) {
        const Region& r = regions_[i];
        if (addr >= r.base && addr < r.base + static_cast<u64>(r.blocks) * kBlock)
            return r.first + static_cast<i64>((addr - r.base) / kBlock);
    }
    return -1;
}

u64 FramePool::addr_of(u32 region, u32 block) const {
    return regions_[region].base + static_cast<u64>(block) * kBlock;
}

void FramePool::reserve(PhysAddr base, u64 size) {
    if (size == 0) return;
    u64 start = align_down(base.raw(), kBlock);
    u64 end = base.raw() + size < base.raw() ? ~0ull : align_up(base.raw() + size, kBlock);
    for (u64 a = start; a < end && a >= start; a += kBlock) {
        i64 i = index_of(a);
        if (i >= 0 && owners_[i] == kOwnerFree) {
            owners_[i] = kOwnerHypervisor;
            --free_blocks_;
        }
    }
}

Status FramePool::check_claim(PhysAddr base, u64 size) const {
    if (size == 0) return Status::InvalidArgument;
    if (base.raw() + size < base.raw()) return Status::OutOfRange;
    const u64 start = align_down(base.raw(), kBlock);
    const u64 end = align_up(base.raw() + size, kBlock);
    if (end < start) return Status::OutOfRange; // rounding wrapped past the top
    for (u64 a = start; a < end; a += kBlock) {
        const i64 i = index_of(a);
        if (i < 0 || owners_[i] == kOwnerHypervisor) return Status::OutOfRange;
        if (owners_[i] != kOwnerFree) return Status::Busy;
    }
    return Status::Ok;
}

Status FramePool::claim(PhysAddr base, u64 size, OwnerId owner) {
    if (owner == kOwnerFree || owner == kOwnerHypervisor) return Status::InvalidArgument;
    KEEL_TRY(check_claim(base, size));
    const u64 start = align_down(base.raw(), kBlock);
    const u64 end = align_up(base.raw() + size, kBlock);
    for (u64 a = start; a < end; a += kBlock) {
        owners_[index_of(a)] = owner;
        --free_blocks_;
    }
    return Status::Ok;
}

Result<PhysAddr> FramePool::alloc(u64 size, OwnerId owner, Zeroing zeroing) {
    if (size == 0 || owner == kOwnerFree) return Status::InvalidArgument;
    u64 need64 = align_up(size, kBlock) / kBlock;
    if (need64 > free_blocks_) return Status::NoMemory;
    u32 need = static_cast<u32>(need64);
    for (u32 r = 0; r < region_count_; ++r) {
        const Region& reg = regions_[r];
        u32 run = 0;
        for (u32 b = 0; b < reg.blocks; ++b) {
            run = owners_[reg.first + b] == kOwnerFree ? run + 1 : 0;
            if (run == need) {
                u32 first = b + 1 - need;
                for (u32 k = first; k <= b; ++k)
                    owners_[reg.first + k] = owner;
                free_blocks_ -= need;
                PhysAddr pa(addr_of(r, first));
                if (zeroing == Zeroing::Now) scrubber_.zero(pa, static_cast<u64>(need) * kBlock);
                return pa;
            }
        }
    }
    return Status::NoMemory; // enough free blocks, but not contiguous
}

Status FramePool::free(PhysAddr base, u64 size, OwnerId owner) {
    if (size == 0 || !base.aligned(kBlock) || owner == kOwnerFree) return Status::InvalidArgument;
    u64 blocks = align_up(size, kBlock) / kBlock;
    // Check first, change after: a bad request leaves every block as it was.
    for (u64 k = 0; k < blocks; ++k) {
        i64 i = index_of(base.raw() + k * kBlock);
        if (i < 0) return Status::OutOfRange;
        if (owners_[i] != owner) return Status::BadState;
    }
    scrubber_.zero(base, blocks * kBlock);
    for (u64 k = 0; k < blocks; ++k)
        owners_[index_of(base.raw() + k * kBlock)] = kOwnerFree;
    free_blocks_ += static_cast<u32>(blocks);
    return Status::Ok;
}

u64 FramePool::free_all(OwnerId owner) {
    if (owner == kOwnerFree) return 0;
    u64 released = 0;
    for (u32 r = 0; r < region_count_; ++r) {
        for (u32 b = 0; b < regions_[r].blocks; ++b) {
            OwnerId& o = owners_[regions_[r].first + b];
            if (o != owner) continue;
            scrubber_.zero(PhysAddr(addr_of(r, b)), kBlock);
            o = kOwnerFree;
            ++free_blocks_;
            released += kBlock;
        }
    }
    return released;
}

OwnerId FramePool::owner_of(PhysAddr addr) const {
    i64 i = index_of(addr.raw());
    return i < 0 ? kOwnerHypervisor : owners_[i];
}

u64 FramePool::owned_bytes(OwnerId owner) const {
    u64 n = 0;
    for (u32 i = 0; i < total_blocks_; ++i)
        if (owners_[i] == owner) n += kBlock;
    return n;
}

} // namespace keel::mm
