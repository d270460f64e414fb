#include "hypervisor/update/adopt_pool.hpp"

namespace keel::update {
namespace {

constexpr u64 kBlock = mm::FramePool::kBlock;

// One run as the pool sees it: hypervisor runs rounded out to whole blocks (the old pool
// reserved every block its image overlaps), every other run exactly as recorded.
struct Blocks {
    u64 base, end;
    u32 owner;
};

Status refuse(const char** why, const char* rule) {
    if (why != nullptr) *why = rule;
    return Status::Corrupt;
}

const VmRecord* vm_of(const HandoverView& v, u32 id) {
    for (u32 i = 0; i < v.vm_count; ++i)
        if (v.vms[i]->id == id) return v.vms[i];
    return nullptr;
}

// The runs as blocks, sorted by base (insertion sort: at most kMaxAdoptRuns).
Status sorted_blocks(const HandoverView& v, Blocks* out, const char** why) {
    const u32 n = v.pool->count;
    for (u32 i = 0; i < n; ++i) {
        const PoolRun& r = v.pool_runs[i];
        if (r.base + r.size < r.base || r.base + r.size > ~0ull - kBlock)
            return refuse(why, "a pool run wraps the address space");
        Blocks b{r.base, r.base + r.size, r.owner};
        if (r.owner == kOwnerHypervisor) {
            b.base = align_down(r.base, kBlock);
            b.end = align_up(r.base + r.size, kBlock);
        } else if (r.base % kBlock != 0 || r.size % kBlock != 0) {
            return refuse(why, "a VM's or a free pool run is not in whole 2 MiB blocks");
        }
        u32 j = i;
        for (; j > 0 && out[j - 1].base > b.base; --j)
            out[j] = out[j - 1];
        out[j] = b;
    }
    for (u32 i = 1; i < n; ++i)
        if (out[i].base < out[i - 1].end) return refuse(why, "two pool runs overlap");
    return Status::Ok;
}

// Every VM run is exactly one Vm record's RAM, and every Vm record has its run.
Status check_vm_runs(const HandoverView& v, const char** why) {
    u32 matched = 0;
    for (u32 i = 0; i < v.pool->count; ++i) {
        const PoolRun& r = v.pool_runs[i];
        if (r.owner == kOwnerFree || r.owner == kOwnerHypervisor) continue;
        const VmRecord* vm = vm_of(v, r.owner);
        if (vm == nullptr) return refuse(why, "a pool run names a VM the record has not");
        if (vm->mem_base != r.base || vm->mem_size != r.size)
            return refuse(why, "a VM's pool run is not its recorded RAM");
        ++matched;
    }
    if (matched != v.vm_count) return refuse(why, "a VM's RAM has no pool run (or two)");
    return Status::Ok;
}

bool inside(mm::Span s, const PoolRun& r) {
    return s.size != 0 && s.base >= r.base && s.base - r.base <= r.size &&
           r.size - (s.base - r.base) >= s.size;
}

} // namespace

Status adopt_pool(const HandoverView& v, mm::Span self, mm::FramePool& pool, PoolAdoption& out,
                  const char** why) {
    if (v.pool == nullptr) return refuse(why, "the record has no pool");
    const u32 n = v.pool->count;
    if (n > kMaxAdoptRuns) return refuse(why, "more pool runs than this image adopts");
    static Blocks blocks[kMaxAdoptRuns]; // off the stack; boot core only
    KEEL_TRY(sorted_blocks(v, blocks, why));
    KEEL_TRY(check_vm_runs(v, why));
    bool self_inside = false;
    for (u32 i = 0; i < n; ++i)
        self_inside |= v.pool_runs[i].owner == kOwnerHypervisor && inside(self, v.pool_runs[i]);
    if (!self_inside) return refuse(why, "this image does not run inside a hypervisor run");
    // Regions: maximal stretches of touching runs.
    u32 regions = 0;
    u64 total = 0;
    for (u32 i = 0; i < n; ++i) {
        regions += i == 0 || blocks[i].base != blocks[i - 1].end;
        total += (blocks[i].end - blocks[i].base) / kBlock;
    }
    if (regions > mm::FramePool::kMaxRegions || total > mm::FramePool::kMaxBlocks)
        return refuse(why, "more pool regions or blocks than this image's pool holds");

    // Checked: nothing below can fail on this record.
    PoolAdoption a;
    a.runs = n;
    a.regions = regions;
    pool.clear();
    for (u32 i = 0, first = 0; i < n; ++i) {
        if (i + 1 < n && blocks[i + 1].base == blocks[i].end) continue;
        KEEL_TRY(pool.add_region(PhysAddr(blocks[first].base), blocks[i].end - blocks[first].base));
        first = i + 1;
    }
    for (u32 i = 0; i < n; ++i) {
        const Blocks& b = blocks[i];
        const u64 size = b.end - b.base;
        if (b.owner == kOwnerFree) {
            a.free_bytes += size;
        } else if (b.owner == kOwnerHypervisor) {
            pool.reserve(PhysAddr(b.base), size);
            a.hypervisor_bytes += size;
        } else {
            KEEL_TRY(pool.claim(PhysAddr(b.base), size, static_cast<mm::OwnerId>(b.owner)));
            a.vm_bytes += size;
        }
    }
    out = a;
    return Status::Ok;
}

} // namespace keel::update
