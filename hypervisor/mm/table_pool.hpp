// Second-level table pages (stage-2, EPT) for every VM come from one fixed pool inside
// the hypervisor image, never from the partition pool: the image is identity mapped on
// both arches, so a page's address is its physical address and the hypervisor can walk
// the tables without mapping anything. No heap: the pool is sized at build time.
//
//   TableStorage<N>  the pages (plain zero-initialised storage: it lands in .bss)
//   TablePool        hands the pages out under a lock (declare it `constinit`: the
//                    images run no global constructors)
//   PoolTables       one tree's TableMemory view of a pool; counts its own pages, so
//                    the VM can report its table memory exactly
#pragma once

#include "hypervisor/mm/page_table.hpp"
#include "hypervisor/spinlock.hpp"

namespace keel::mm {

template <u32 N>
struct TableStorage {
    alignas(kPageSize) u64 pages[N][kEntriesPerTable];
    bool used[N];
};

class TablePool {
public:
    template <u32 N>
    constexpr explicit TablePool(TableStorage<N>& storage)
        : pages_(storage.pages), used_(storage.used), count_(N) {}
    // Pages and flags apart: the pages may be memory nobody zeroes (alloc() zeroes each page
    // it hands out), the flags must start false.
    template <u32 N>
    constexpr TablePool(u64 (&pages)[N][kEntriesPerTable], bool (&used)[N])
        : pages_(pages), used_(used), count_(N) {}
    TablePool(const TablePool&) = delete;
    TablePool& operator=(const TablePool&) = delete;

    // Moves the pool onto other memory (a live update's stage-2 table region, a run of
    // the partition pool, docs/handover.md §2.2 OldImage): `count` pages at `pages`, `used`
    // their flags (cleared here). BadState, nothing changed, while a page is in use.
    Status use_storage(u64 (*pages)[kEntriesPerTable], bool* used, u32 count);
    // Marks a page of the pool in use as it is, not zeroed (a page of a tree a live update
    // adopted). False if it is not a page of this pool or already in use.
    bool adopt(PhysAddr phys);
    [[nodiscard]] u32 in_use() const;
    // Whether `phys` is one of this pool's pages (in use or not).
    [[nodiscard]] bool holds(PhysAddr phys) const { return index_of(phys) >= 0; }

    // A zeroed page, or nullptr when the pool is exhausted.
    u64* alloc(PhysAddr* phys);
    // False (and nothing changes) if `phys` is not a page of this pool in use.
    bool free(PhysAddr phys);
    [[nodiscard]] u32 capacity() const { return count_; }
    // The pages' memory as one range (a device that walks tables without snooping the
    // caches needs all of it cleaned after the tables change).
    [[nodiscard]] const void* base() const { return pages_; }
    [[nodiscard]] usize bytes() const { return usize{count_} * kPageSize; }

private:
    [[nodiscard]] i64 index_of(PhysAddr phys) const; // -1: not one of this pool's pages
    u64 (*pages_)[kEntriesPerTable];
    bool* used_;
    u32 count_;
    SpinLock lock_;
};

// A pool moved once onto a region of N pages outside the image (a live update's table
// region, docs/handover.md §2.2 OldImage tables_base): the region's page flags and where it
// is. InvalidArgument for another size, a misaligned base or a second region; BadState
// (use_storage) while a page of the pool is in use.
template <u32 N>
class TableRegion {
public:
    Status use(TablePool& pool, u64 base, u64 size) {
        if (base_ != 0 || size != u64{N} * kPageSize || (base & (kPageSize - 1)) != 0)
            return Status::InvalidArgument;
        KEEL_TRY(pool.use_storage(reinterpret_cast<u64(*)[kEntriesPerTable]>(base), used_, N));
        base_ = base;
        return Status::Ok;
    }
    [[nodiscard]] u64 base() const { return base_; } // 0: not moved

private:
    bool used_[N] = {};
    u64 base_ = 0;
};

class PoolTables final : public TableMemory {
public:
    constexpr PoolTables() = default;
    void attach(TablePool& pool) { pool_ = &pool; }
    // A page of an adopted tree, claimed in the pool by the caller (TablePool::adopt).
    void count_adopted() { ++in_use_; }
    u64* alloc_table(PhysAddr* phys) override;
    void free_table(PhysAddr phys) override;
    u64* table_ptr(PhysAddr phys) override { return reinterpret_cast<u64*>(phys.raw()); }
    [[nodiscard]] usize tables_in_use() const override { return in_use_; }

private:
    TablePool* pool_ = nullptr;
    usize in_use_ = 0;
};

// A pool's pages as a tree is walked at adoption: a table outside the pool is not read.
class PoolView final : public TableMemory {
public:
    explicit PoolView(TablePool& pool) : pool_(pool) {}
    u64* alloc_table(PhysAddr*) override { return nullptr; }
    void free_table(PhysAddr) override {}
    u64* table_ptr(PhysAddr phys) override {
        return pool_.holds(phys) ? reinterpret_cast<u64*>(phys.raw()) : nullptr;
    }
    [[nodiscard]] usize tables_in_use() const override { return 0; }

private:
    TablePool& pool_;
};

// Takes over the tree at `root` that an outgoing image left in the pool's memory (a live
// update's IOMMU tables, docs/handover.md §4 step 4): every table page claimed in the pool,
// each once, then `pt` adopts the root with `tables` counting those pages. Corrupt when the
// root or a table lies outside the pool or a page is already claimed; the pages claimed so
// far stay claimed (an image that refuses hands back and never runs on).
template <typename Format>
Status adopt_tree(TablePool& pool, PhysAddr root, PoolTables& tables, PageTable<Format>& pt) {
    if (!pool.holds(root)) return Status::Corrupt;
    PoolView view(pool);
    PageTable<Format> walk{view};
    if (walk.adopt(root) != Status::Ok) return Status::Corrupt;
    bool ok = true;
    u32 pages = 0;
    walk.for_each_table([&](PhysAddr page) {
        const bool mine = pool.adopt(page);
        pages += mine;
        ok &= mine;
    });
    if (!ok) return Status::Corrupt;
    tables.attach(pool);
    KEEL_TRY(pt.adopt(root));
    for (u32 n = 0; n < pages; ++n)
        tables.count_adopted();
    return Status::Ok;
}

} // namespace keel::mm
