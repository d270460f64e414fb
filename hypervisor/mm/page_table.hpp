// One page-table engine for every translation format Keel builds: ARM stage-2,
// Intel EPT, AMD NPT, and the hypervisor's own tables (arm64 EL2 stage-1, x86 4-level
// paging). The engine walks, maps, splits blocks and unmaps; a small Format policy
// class says how one descriptor is encoded. Levels are numbered top-down for every
// format (x86's PML4 is level 0, its page table level 3):
//
//   level:   0        1        2        3          (4 KiB granule, 9 bits per level)
//   covers:  512 GiB  1 GiB    2 MiB    4 KiB
//
// A Format provides:
//   Input                      (optional) input address type: GuestPhys unless named
//   kTopLevel                  first level walked (0 for 4-level, 1 for 3-level)
//   kInputBits                 size of the input address space
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

// What map() does: leaves as large as alignment allows, or 4 KiB pages only; and with a
// page of the range already mapped, refuse, or keep it if it is mapped exactly as asked.
enum class Leaves : u8 { Largest, PagesOnly };
enum class Overlap : u8 { Refuse, KeepSame };
// What unmap() does with tables it leaves empty.
enum class EmptyTables : u8 { Free, Keep };

// The kinds of mapping in the hypervisor's own tables (each arch's MapKind).
enum class HostMap : u8 {
    Text,      // read-only, executable
    ReadOnly,  // read-only, never executable
    ReadWrite, // read-write, never executable
    Device,    // device registers: read-write, never executable, uncached
};
constexpr Attrs host_attrs(HostMap kind) {
    return Attrs{true, kind == HostMap::ReadWrite || kind == HostMap::Device, kind == HostMap::Text,
                 kind == HostMap::Device};
}

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

// The input address type: the format's Input, or GuestPhys if it names none.
template <typename Format>
auto input_of(int) -> typename Format::Input;
template <typename Format>
GuestPhys input_of(long);

template <typename Format>
class PageTable {
public:
    using Input = decltype(input_of<Format>(0));

    constexpr explicit PageTable(TableMemory& mem) : mem_(mem) {}
    PageTable(const PageTable&) = delete;
    PageTable& operator=(const PageTable&) = delete;

    // Allocates the root table. Must succeed before any other call.
    Status init() {
        if (root_ != nullptr) return Status::BadState;
        root_ = mem_.alloc_table(&root_phys_);
        return root_ ? Status::Ok : Status::NoMemory;
    }

    // Instead of init(): takes over a tree that already exists at `root` (a live update's
    // incoming image reading the outgoing one's tables in place, docs/handover.md §4 step 4).
    // BadState if this one has a root already; InvalidArgument if the memory cannot reach it.
    Status adopt(PhysAddr root) {
        if (root_ != nullptr) return Status::BadState;
        u64* table = mem_.table_ptr(root);
        if (table == nullptr) return Status::InvalidArgument;
        root_ = table;
        root_phys_ = root;
        return Status::Ok;
    }

    // Frees every table; the tree must not be in use by hardware any more.
    void destroy() {
        if (root_ == nullptr) return;
        (void)unmap(Input(0), 1ull << Format::kInputBits); // frees every table below the root
        mem_.free_table(root_phys_);
        root_ = nullptr;
    }

    [[nodiscard]] PhysAddr root() const { return root_phys_; }
    [[nodiscard]] bool ready() const { return root_ != nullptr; }

    // Calls fn(PhysAddr) for every table page of the tree, the root first (a live update's
    // incoming image claiming an adopted tree's pages, docs/handover.md §4 step 4). A table
    // the memory cannot reach (table_ptr null) is reported and not descended into.
    template <class Fn>
    void for_each_table(Fn&& fn) {
        if (root_ == nullptr) return;
        fn(root_phys_);
        visit_tables(root_, Format::kTopLevel, fn);
    }

    // Maps [ia, ia+size) to [pa, pa+size). Fails with AlreadyExists if a page in the
    // range is already mapped (with KeepSame: mapped otherwise than asked; such pages are
    // left as they are). The range is checked before the first write; a map that then
    // runs out of tables undoes what it wrote (KeepSame: keeps it, all of it as asked).
    Status map(Input ia, PhysAddr pa, u64 size, Attrs attrs, Leaves leaves = Leaves::Largest,
               Overlap overlap = Overlap::Refuse) {
        KEEL_TRY(check_range(ia.raw(), size));
        if (!pa.aligned(kPageSize)) return Status::InvalidArgument;
        const bool keep = overlap == Overlap::KeepSame;
        if (conflicts(ia.raw(), pa.raw(), size, keep ? &attrs : nullptr))
            return Status::AlreadyExists;
        for (u64 done = 0; done < size;) {
            const u64 a = ia.raw() + done, p = pa.raw() + done;
            if (keep && translate(Input(a)).ok()) {
                done = next_entry(a) - ia.raw(); // mapped as asked (conflicts() checked it)
                continue;
            }
            const int level = leaves == Leaves::PagesOnly ? 3 : pick_level(a, p, size - done);
            Status s = Status::Ok;
            if (level == 3) {
                // One walk for the run of pages in this level-3 table (issue 15: the
                // image's ~300 pages took four walks each).
                u64 n = 0;
                s = install_pages(a, p, attrs, size - done, keep, &n);
                done += n;
                if (s == Status::Ok) continue;
            } else {
                s = install_leaf(a, p, attrs, level);
            }
            if (s != Status::Ok) {
                if (!keep && done != 0) (void)unmap(ia, done);
                prune(root_, Format::kTopLevel, 0, a, a + kPageSize); // tables made for `a`
                return s;
            }
            done += level_size(level);
        }
        return Status::Ok;
    }

    // Creates the tables that hold the level-`level` entries for [ia, ia+size), mapping
    // nothing, so that a later map() of level-`level` leaves there allocates no table
    // (arm64 maps a VM's RAM block by block on first use, from any of its cores). On
    // NoMemory the tables made so far stay (destroy() frees them).
    Status make_tables(Input ia, u64 size, int level) {
        KEEL_TRY(check_range(ia.raw(), size));
        if (level <= Format::kTopLevel || level > 3) return Status::InvalidArgument;
        const u64 reach = level_size(level) * kEntriesPerTable; // one table's span
        for (u64 a = align_down(ia.raw(), reach); a < ia.raw() + size; a += reach)
            KEEL_TRY(table_for(a, level).status());
        return Status::Ok;
    }

    // Unmaps [ia, ia+size); blocks only partly covered are split first. Unmapped
    // holes inside the range are fine. Tables left empty are freed unless kept.
    Status unmap(Input ia, u64 size, EmptyTables empty = EmptyTables::Free) {
        KEEL_TRY(check_range(ia.raw(), size));
        u64 a = ia.raw();
        const u64 end = a + size;
        while (a < end) {
            u64 step = 0;
            KEEL_TRY(unmap_one(a, end, &step));
            a += step;
        }
        if (empty == EmptyTables::Free) prune(root_, Format::kTopLevel, 0, ia.raw(), end);
        return Status::Ok;
    }

    // Looks up one input address.
    [[nodiscard]] Result<Translation> translate(Input ia) const {
        if (root_ == nullptr || ia.raw() >= (1ull << Format::kInputBits)) return Status::OutOfRange;
        int level = 0;
        const u64 e = entry_for(ia.raw(), &level);
        if (!Format::is_present(e)) return Status::NotFound;
        const u64 offset = ia.raw() & (level_size(level) - 1);
        return Translation{PhysAddr(Format::leaf_output(e).raw() + offset), Format::leaf_attrs(e),
                           level};
    }

    [[nodiscard]] bool needs_flush() const { return flush_; }
    void clear_flush() { flush_ = false; }

private:
    template <class Fn>
    void visit_tables(u64* table, int level, Fn& fn) {
        if (level >= 3) return; // level 3 holds pages only
        for (u32 i = 0; i < kEntriesPerTable; ++i) {
            const u64 e = table[i];
            if (!Format::is_present(e) || Format::is_leaf(e, level)) continue;
            const PhysAddr next = Format::table_output(e);
            fn(next);
            if (u64* t = mem_.table_ptr(next); t != nullptr) visit_tables(t, level + 1, fn);
        }
    }

    Status check_range(u64 ia, u64 size) const {
        if (root_ == nullptr) return Status::BadState;
        if (size == 0 || (ia % kPageSize) != 0 || (size % kPageSize) != 0)
            return Status::InvalidArgument;
        if (ia + size < ia || ia + size > (1ull << Format::kInputBits)) return Status::OutOfRange;
        return Status::Ok;
    }

    // The largest leaf that fits at `ia`: aligned, inside the range, and in a free entry
    // (not over a table that is already there, even an empty one).
    int pick_level(u64 ia, u64 pa, u64 remaining) const {
        const u64* table = root_;
        for (int level = Format::kTopLevel; level < 3; ++level) {
            const u64 e = table ? table[level_index(ia, level)] : 0, sz = level_size(level);
            if (!Format::is_present(e) && Format::block_allowed(level) && (ia % sz) == 0 &&
                (pa % sz) == 0 && remaining >= sz)
                return level;
            table = Format::is_present(e) ? mem_.table_ptr(Format::table_output(e)) : nullptr;
        }
        return 3;
    }

    // True if a page of [ia, ia+size) is mapped; with `same`, only if it is mapped
    // otherwise than to [pa, pa+size) with those attributes.
    // One walk per table: after the entry that decides `a`, its neighbours in the same
    // table are read in place until one points at a lower table.
    bool conflicts(u64 ia, u64 pa, u64 size, const Attrs* same) const {
        const Attrs want =
            same ? Format::leaf_attrs(Format::make_leaf(PhysAddr(0), *same, 3)) : Attrs{};
        const u64 end = ia + size;
        for (u64 a = ia; a < end;) {
            int level = 0;
            const u64* slot = slot_for(a, &level);
            const u64 sz = level_size(level);
            const u64 table_end = align_down(a, sz * kEntriesPerTable) + sz * kEntriesPerTable;
            for (;;) {
                const u64 e = *slot;
                if (Format::is_present(e)) {
                    const u64 out = Format::leaf_output(e).raw() + (a & (sz - 1));
                    if (!same || out != pa + (a - ia) || !(Format::leaf_attrs(e) == want))
                        return true;
                }
                a = align_down(a, sz) + sz;
                if (a >= end || a >= table_end) break;
                ++slot;
                if (level < 3 && Format::is_present(*slot) && !Format::is_leaf(*slot, level))
                    break; // a lower table: walk again from the root
            }
        }
        return false;
    }

    // Where the entry that decides `ia` sits: the leaf that maps it or the free entry
    // above it.
    const u64* slot_for(u64 ia, int* level) const {
        const u64* table = root_;
        for (*level = Format::kTopLevel;; ++*level) {
            const u64* slot = &table[level_index(ia, *level)];
            if (*level == 3 || !Format::is_present(*slot) || Format::is_leaf(*slot, *level))
                return slot;
            table = mem_.table_ptr(Format::table_output(*slot));
        }
    }
    u64 entry_for(u64 ia, int* level) const { return *slot_for(ia, level); }

    // The first address after the leaf or the hole that covers `a`.
    u64 next_entry(u64 a) const {
        int level = 0;
        (void)entry_for(a, &level);
        return align_down(a, level_size(level)) + level_size(level);
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

    // Pages from `ia` to the end of its level-3 table or of `remaining`, one walk for
    // all of them; `*done` says how far it got. With `keep`, a page already mapped is
    // left as it is (conflicts() checked it is mapped as asked); otherwise it fails the
    // call (AlreadyExists, with the pages before it written: the caller undoes them).
    Status install_pages(u64 ia, u64 pa, Attrs attrs, u64 remaining, bool keep, u64* done) {
        auto t = table_for(ia, 3);
        if (!t.ok()) return t.status();
        u64* table = t.value();
        u64 n = 0;
        for (unsigned i = level_index(ia, 3); i < kEntriesPerTable && n < remaining;
             ++i, n += kPageSize) {
            if (Format::is_present(table[i])) {
                if (keep) continue;
                *done = n;
                return Status::AlreadyExists;
            }
            table[i] = Format::make_leaf(PhysAddr(pa + n), attrs, 3);
        }
        *done = n;
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

    // Frees the tables under [lo, hi) that are empty; returns true if `table` (covering
    // from `base`) is now empty.
    bool prune(u64* table, int level, u64 base, u64 lo, u64 hi) {
        bool empty = true;
        for (unsigned i = 0; i < kEntriesPerTable; ++i) {
            const u64 start = base + i * level_size(level);
            if (!empty && start >= hi) break; // nothing further can change the answer
            u64& e = table[i];
            if (!Format::is_present(e)) continue;
            if (level < 3 && !Format::is_leaf(e, level) && start < hi &&
                start + level_size(level) > lo) {
                PhysAddr child = Format::table_output(e);
                if (prune(mem_.table_ptr(child), level + 1, start, lo, hi)) {
                    e = 0;
                    mem_.free_table(child);
                    continue;
                }
            }
            empty = false;
        }
        return empty;
    }

    TableMemory& mem_;
    u64* root_ = nullptr;
    PhysAddr root_phys_{};
    bool flush_ = false;
};

// The hypervisor's own tables (arm64 el2_map, x86 map_phys): identity-maps [addr,
// addr+size) rounded out to pages, keeping pages already mapped so; 4 KiB pages only
// unless the caller allows blocks where alignment does (arm64: the GIC redistributors'
// 15 MiB, which took ~4,000 pages and ~740k instructions at boot).
template <typename Format>
Status map_host(PageTable<Format>& table, u64 addr, u64 size, HostMap kind,
                Leaves leaves = Leaves::PagesOnly) {
    if (size == 0 || addr + size < addr) return Status::InvalidArgument;
    const u64 start = align_down(addr, kPageSize);
    return table.map(typename PageTable<Format>::Input(start), PhysAddr(start),
                     align_up(addr + size, kPageSize) - start, host_attrs(kind), leaves,
                     Overlap::KeepSame);
}

} // namespace keel::mm
