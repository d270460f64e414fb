// One page-table engine for every translation format Keel builds: ARM stage-2,
// Intel EPT, AMD NPT (and host tables later). The engine walks, maps, splits blocks
// and unmaps; a small Format policy class says how one descriptor is encoded.
//
//   level:   0        1        2        3          (4 KiB granule, 9 bits per level)
//   covers:  512 GiB  1 GiB    2 MiB    4 KiB
//
// A Format provides:
//   kTopLevel                  first level walked (0 for 4-level, 1 for 3-level)
//   kInputBits                 size of the input (guest-physical) address space
//   block_allowed(level)       may a leaf sit at this level (1 GiB / 2 MiB blocks)?
//   is_present(e)              descriptor valid
//   is_leaf(e, level)          page or block (as opposed to a next-level table)
//   make_table(next)           descriptor pointing at a next-level table
//   make_leaf(pa, attrs, level) page/block descriptor
//   leaf_output(e), leaf_attrs(e)   decode a leaf
//
// Table memory comes from a TableMemory the caller owns (a fixed pool inside the
// hypervisor's own mapped memory: never the partition pool), so the engine itself
// never allocates and runs unchanged in host tests.
//
// TLB maintenance is the caller's: every mutating call reports through
// `needs_flush()` whether a valid translation changed (break-before-make is the
// caller's guarantee: the engine only ever writes an entry once per call, and
// splitting writes the new table fully before swapping it in).
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::mm {

// Access permissions and memory type of a mapping, format-neutral.
struct Attrs {
    bool read = true;
    bool write = true;
    bool exec = true;
    bool device = false; // device memory (uncached); otherwise normal write-back
    constexpr bool operator==(const Attrs&) const = default;
};

// Supplies zeroed 4 KiB table pages and converts their physical addresses to pointers.
class TableMemory {
public:
    virtual u64* alloc_table(PhysAddr* phys) = 0; // zeroed page or nullptr
    virtual void free_table(PhysAddr phys) = 0;
    virtual u64* table_ptr(PhysAddr phys) = 0;
    [[nodiscard]] virtual usize tables_in_use() const = 0;

protected:
    ~TableMemory() = default;
};

struct Translation {
    PhysAddr pa;
    Attrs attrs;
    int level; // level of the leaf that mapped it
};

constexpr u64 kPageSize = 4096;
constexpr unsigned kEntriesPerTable = 512;
constexpr u64 level_size(int level) { return 1ull << (12 + 9 * (3 - level)); }
constexpr unsigned level_index(u64 addr, int level) {
    return static_cast<unsigned>((addr >> (12 + 9 * (3 - level))) & (kEntriesPerTable - 1));
}

template <typename Format>
class PageTable {
public:
    explicit PageTable(TableMemory& mem) : mem_(mem) {}
    PageTable(const PageTable&) = delete;
    PageTable& operator=(const PageTable&) = delete;

    // Allocates the root table. Must succeed before any other call.
    Status init() {
        if (root_ != nullptr) return Status::BadState;
        root_ = mem_.alloc_table(&root_phys_);
        return root_ ? Status::Ok : Status::NoMemory;
    }

    // Frees every table; the tree must not be in use by hardware any more.
    void destroy() {
        if (root_ == nullptr) return;
        free_subtree(root_, Format::kTopLevel);
        mem_.free_table(root_phys_);
        root_ = nullptr;
    }

    [[nodiscard]] PhysAddr root() const { return root_phys_; }

    // Maps [ia, ia+size) to [pa, pa+size). Uses the largest blocks alignment allows.
    // Fails with AlreadyExists if any page in the range is already mapped (nothing is
    // changed then: the range is checked before the first write).
    Status map(GuestPhys ia, PhysAddr pa, u64 size, Attrs attrs) {
        KEEL_TRY(check_range(ia.raw(), size));
        if (!pa.aligned(kPageSize)) return Status::InvalidArgument;
        if (any_mapped(ia.raw(), size)) return Status::AlreadyExists;
        u64 done = 0;
        while (done < size) {
            u64 a = ia.raw() + done;
            u64 p = pa.raw() + done;
            int level = pick_level(a, p, size - done);
            Status s = install_leaf(a, p, attrs, level);
            if (s != Status::Ok) {
                // Roll back what this call mapped so a failed map changes nothing.
                if (done != 0) (void)unmap(ia, done);
                return s;
            }
            done += level_size(level);
        }
        return Status::Ok;
    }

    // Unmaps [ia, ia+size); blocks only partly covered are split first. Unmapped
    // holes inside the range are fine. Empty tables are freed.
    Status unmap(GuestPhys ia, u64 size) {
        KEEL_TRY(check_range(ia.raw(), size));
        u64 a = ia.raw();
        const u64 end = a + size;
        while (a < end) {
            u64 step = 0;
            KEEL_TRY(unmap_one(a, end, &step));
            a += step;
        }
        prune(root_, Format::kTopLevel);
        return Status::Ok;
    }

    // Looks up one input address.
    [[nodiscard]] Result<Translation> translate(GuestPhys ia) const {
        if (root_ == nullptr || ia.raw() >= (1ull << Format::kInputBits)) return Status::OutOfRange;
        const u64* table = root_;
        for (int level = Format::kTopLevel; level <= 3; ++level) {
            u64 e = table[level_index(ia.raw(), level)];
            if (!Format::is_present(e)) return Status::NotFound;
            if (Format::is_leaf(e, level)) {
                u64 offset = ia.raw() & (level_size(level) - 1);
                return Translation{PhysAddr(Format::leaf_output(e).raw() + offset),
                                   Format::leaf_attrs(e), level};
            }
            table = mem_.table_ptr(Format::table_output(e));
        }
        return Status::Corrupt;
    }

    [[nodiscard]] bool needs_flush() const { return flush_; }
    void clear_flush() { flush_ = false; }

private:
    Status check_range(u64 ia, u64 size) const {
        if (root_ == nullptr) return Status::BadState;
        if (size == 0 || (ia % kPageSize) != 0 || (size % kPageSize) != 0)
            return Status::InvalidArgument;
        if (ia + size < ia || ia + size > (1ull << Format::kInputBits)) return Status::OutOfRange;
        return Status::Ok;
    }

    int pick_level(u64 ia, u64 pa, u64 remaining) const {
        for (int level = Format::kTopLevel; level < 3; ++level) {
            u64 sz = level_size(level);
            if (Format::block_allowed(level) && (ia % sz) == 0 && (pa % sz) == 0 && remaining >= sz)
                return level;
        }
        return 3;
    }

    bool any_mapped(u64 ia, u64 size) const {
        for (u64 a = ia; a < ia + size;) {
            auto t = translate(GuestPhys(a));
            if (t.ok()) return true;
            a = skip_hole(a);
        }
        return false;
    }

    // Next address after the unmapped hole that contains `a` (at least one page on).
    u64 skip_hole(u64 a) const {
        const u64* table = root_;
        for (int level = Format::kTopLevel; level <= 3; ++level) {
            u64 e = table[level_index(a, level)];
            if (!Format::is_present(e)) return align_down(a, level_size(level)) + level_size(level);
            if (Format::is_leaf(e, level)) break;
            table = mem_.table_ptr(Format::table_output(e));
        }
        return a + kPageSize;
    }

    // Walks to the table at `level` that holds the entry for `ia`, creating tables.
    Result<u64*> table_for(u64 ia, int level) {
        u64* table = root_;
        for (int l = Format::kTopLevel; l < level; ++l) {
            u64& e = table[level_index(ia, l)];
            if (!Format::is_present(e)) {
                PhysAddr next_phys;
                u64* next = mem_.alloc_table(&next_phys);
                if (!next) return Status::NoMemory;
                e = Format::make_table(next_phys);
            } else if (Format::is_leaf(e, l)) {
                return Status::AlreadyExists;
            }
            table = mem_.table_ptr(Format::table_output(e));
        }
        return table;
    }

    Status install_leaf(u64 ia, u64 pa, Attrs attrs, int level) {
        auto t = table_for(ia, level);
        if (!t.ok()) return t.status();
        u64& e = t.value()[level_index(ia, level)];
        if (Format::is_present(e)) return Status::AlreadyExists;
        e = Format::make_leaf(PhysAddr(pa), attrs, level);
        return Status::Ok;
    }

    // Unmaps what covers `a`, at most up to `end`; reports how far it got.
    Status unmap_one(u64 a, u64 end, u64* step) {
        u64* table = root_;
        for (int level = Format::kTopLevel; level <= 3; ++level) {
            u64& e = table[level_index(a, level)];
            u64 sz = level_size(level);
            u64 base = align_down(a, sz);
            if (!Format::is_present(e)) {
                *step = base + sz - a;
                return Status::Ok;
            }
            if (Format::is_leaf(e, level)) {
                if (base == a && base + sz <= end) {
                    e = 0;
                    flush_ = true;
                    *step = sz;
                    return Status::Ok;
                }
                KEEL_TRY(split(e, level)); // partly covered block: split, then descend
            }
            table = mem_.table_ptr(Format::table_output(e));
        }
        return Status::Corrupt;
    }

    // Replaces a block at `level` by a table of next-level leaves with the same
    // output and attributes. The new table is complete before it is installed.
    Status split(u64& e, int level) {
        if (level >= 3) return Status::Corrupt;
        PhysAddr next_phys;
        u64* next = mem_.alloc_table(&next_phys);
        if (!next) return Status::NoMemory;
        u64 out = Format::leaf_output(e).raw();
        Attrs attrs = Format::leaf_attrs(e);
        u64 child = level_size(level + 1);
        for (unsigned i = 0; i < kEntriesPerTable; ++i)
            next[i] = Format::make_leaf(PhysAddr(out + i * child), attrs, level + 1);
        e = Format::make_table(next_phys);
        flush_ = true;
        return Status::Ok;
    }

    // Frees tables that became empty; returns true if `table` is now empty.
    bool prune(u64* table, int level) {
        bool empty = true;
        for (unsigned i = 0; i < kEntriesPerTable; ++i) {
            u64& e = table[i];
            if (!Format::is_present(e)) continue;
            if (level < 3 && !Format::is_leaf(e, level)) {
                PhysAddr child = Format::table_output(e);
                if (prune(mem_.table_ptr(child), level + 1)) {
                    e = 0;
                    mem_.free_table(child);
                    continue;
                }
            }
            empty = false;
        }
        return empty;
    }

    void free_subtree(u64* table, int level) {
        for (unsigned i = 0; i < kEntriesPerTable; ++i) {
            u64 e = table[i];
            if (level < 3 && Format::is_present(e) && !Format::is_leaf(e, level)) {
                PhysAddr child = Format::table_output(e);
                free_subtree(mem_.table_ptr(child), level + 1);
                mem_.free_table(child);
            }
            table[i] = 0;
        }
    }

    TableMemory& mem_;
    u64* root_ = nullptr;
    PhysAddr root_phys_{};
    bool flush_ = false;
};

} // namespace keel::mm
