#include "hypervisor/vm/partitions.hpp"

#include "hypervisor/print.hpp"
#include "hypervisor/spinlock.hpp"
#include <arch/sections.hpp>
#include <arch/vm.hpp>

namespace keel {
namespace {

// arm64 booting.rst: the DTB must not exceed 2 MiB, so one block always covers it.
constexpr u64 kDtbMax = 2 * MiB;

// Guest-source blocks have an owner id of their own, outside the VM-id range.
constexpr mm::OwnerId kOwnerSources = 0x4000;

SpinLock g_pool_lock;
u64 g_baseline = 0;

// Function-local: the image runs no global constructors (no init_array walk), and the
// first call happens on the boot core before any other core can get here.
mm::FramePool& pool() {
    // .noinit: the constructor sets every member the pool reads (owners_ only as
    // add_region counts blocks), so the boot does not zero its 32 KiB first.
    KEEL_NOINIT static mm::FramePool p(arch::pool_scrubber());
    return p;
}

} // namespace

Status pool_init(const BootInfo& info, const Platform& platform) {
    LockGuard g(g_pool_lock);
    mm::FramePool& p = pool();
    p.clear();
    for (u32 i = 0; i < platform.mem_count; ++i) {
        const MemRange& m = platform.mem[i];
        if (m.type != MemType::Usable) continue;
        if (const Status s = p.add_region(PhysAddr(m.base), m.size); s != Status::Ok) {
            kprint("pool: usable range %#llx-%#llx refused: %s\n",
                   static_cast<unsigned long long>(m.base),
                   static_cast<unsigned long long>(m.base + m.size - 1), status_name(s));
            p.clear();
            return s;
        }
    }
    for (u32 i = 0; i < platform.mem_count; ++i)
        if (platform.mem[i].type != MemType::Usable)
            p.reserve(PhysAddr(platform.mem[i].base), platform.mem[i].size);
    p.reserve(PhysAddr(info.image_base), info.image_size);
    if (info.dtb != 0) p.reserve(PhysAddr(info.dtb), kDtbMax);
    g_baseline = p.free_bytes();
    p.for_each_free_run([](PhysAddr base, u64 size) {
        kprint("pool: free %#llx-%#llx (%llu MiB)\n", static_cast<unsigned long long>(base.raw()),
               static_cast<unsigned long long>(base.raw() + size - 1),
               static_cast<unsigned long long>(size / MiB));
    });
    kprint("pool: %llu MiB free (of %llu MiB partitionable, 2 MiB blocks)\n",
           static_cast<unsigned long long>(g_baseline / MiB),
           static_cast<unsigned long long>(p.total_bytes() / MiB));
    return Status::Ok;
}

u64 pool_baseline() { return g_baseline; }

Status pool_claim_source(PhysAddr base, u64 size) {
    LockGuard g(g_pool_lock);
    mm::FramePool& p = pool();
    const u64 before = p.free_bytes();
    KEEL_TRY(p.claim(base, size, kOwnerSources));
    g_baseline -= before - p.free_bytes();
    kprint("pool: reserved %#llx-%#llx for guest sources, baseline now %llu MiB\n",
           static_cast<unsigned long long>(align_down(base.raw(), mm::FramePool::kBlock)),
           static_cast<unsigned long long>(align_up(base.raw() + size, mm::FramePool::kBlock)),
           static_cast<unsigned long long>(g_baseline / MiB));
    return Status::Ok;
}

Status pool_check_source(PhysAddr base, u64 size) {
    LockGuard g(g_pool_lock);
    return pool().check_claim(base, size);
}

void pool_release_source(PhysAddr base, u64 size) {
    LockGuard g(g_pool_lock);
    mm::FramePool& p = pool();
    const PhysAddr start(align_down(base.raw(), mm::FramePool::kBlock));
    const u64 before = p.free_bytes();
    (void)p.free(start, align_up(base.raw() + size, mm::FramePool::kBlock) - start.raw(),
                 kOwnerSources);
    g_baseline += p.free_bytes() - before;
    kprint("pool: released guest sources %#llx-%#llx, baseline back to %llu MiB\n",
           static_cast<unsigned long long>(start.raw()),
           static_cast<unsigned long long>(align_up(base.raw() + size, mm::FramePool::kBlock)),
           static_cast<unsigned long long>(g_baseline / MiB));
}

u64 pool_free_bytes() {
    LockGuard g(g_pool_lock);
    return pool().free_bytes();
}

Result<PhysAddr> pool_alloc(u64 size, mm::OwnerId owner, mm::Zeroing zeroing,
                            const mm::Span* prefer, u32 prefer_count) {
    LockGuard g(g_pool_lock);
    return pool().alloc(size, owner, zeroing, prefer, prefer_count);
}

Result<PhysAddr> pool_reserve_hypervisor(u64 size, const char* what) {
    LockGuard g(g_pool_lock);
    mm::FramePool& p = pool();
    const u64 before = p.free_bytes();
    Result<PhysAddr> r = p.alloc(size, mm::kOwnerHypervisor, mm::Zeroing::Now);
    if (!r.ok()) return r;
    g_baseline -= before - p.free_bytes();
    kprint("pool: reserved %#llx-%#llx for %s, baseline now %llu MiB\n",
           static_cast<unsigned long long>(r.value().raw()),
           static_cast<unsigned long long>(r.value().raw() + (before - p.free_bytes())), what,
           static_cast<unsigned long long>(g_baseline / MiB));
    return r;
}

Status pool_release_hypervisor(PhysAddr base, u64 size) {
    LockGuard g(g_pool_lock);
    mm::FramePool& p = pool();
    const u64 before = p.free_bytes();
    KEEL_TRY(p.free(base, size, mm::kOwnerHypervisor));
    g_baseline += p.free_bytes() - before;
    return Status::Ok;
}

u64 pool_release(mm::OwnerId owner) {
    LockGuard g(g_pool_lock);
    (void)pool().free_all(owner);
    return pool().free_bytes();
}

u32 pool_free_runs(u64* bases, u64* sizes, u32 max) {
    LockGuard g(g_pool_lock);
    u32 n = 0;
    pool().for_each_free_run([&](PhysAddr base, u64 size) {
        if (n < max) bases[n] = base.raw(), sizes[n] = size;
        ++n;
    });
    return n;
}

Status pool_adopt(const update::HandoverView& v, mm::Span self, update::PoolAdoption& out,
                  const char** why) {
    LockGuard g(g_pool_lock);
    KEEL_TRY(update::adopt_pool(v, self, pool(), out, why));
    g_baseline = out.free_bytes + out.vm_bytes;
    return Status::Ok;
}

mm::OwnerId pool_owner_of(PhysAddr addr) {
    LockGuard g(g_pool_lock);
    return pool().owner_of(addr);
}

u64 pool_owned_bytes(mm::OwnerId owner) {
    LockGuard g(g_pool_lock);
    return pool().owned_bytes(owner);
}

} // namespace keel
