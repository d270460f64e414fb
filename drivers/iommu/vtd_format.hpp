// VT-d second-level paging entries (VT-d spec 9.8, "Second-Level Paging Entries") as
// Format policies for mm::PageTable: 3 levels for a 39-bit address width, 4 for 48-bit
// (the context entry's AW says which the unit walks). Read is bit 0, write bit 1; a
// 2 MiB leaf sets PS (bit 7) in a level-2 entry. A non-leaf entry must allow both, or
// the walk denies what it does not allow (permissions are the AND of every level). No
// execute (a device fetches no instructions in legacy mode), no snoop or memory-type
// bits: those depend on capabilities Keel does not ask for.
#pragma once

#include "hypervisor/mm/page_table.hpp"

namespace keel::iommu {

template <int Levels>
struct VtdSlFormat {
    static_assert(Levels == 3 || Levels == 4, "VT-d second level: 3 or 4 levels");
    using Input = IoVirt;
    static constexpr int kTopLevel = 4 - Levels;
    static constexpr unsigned kInputBits = Levels == 3 ? 39 : 48;

    static constexpr u64 kRead = 1ull << 0;
    static constexpr u64 kWrite = 1ull << 1;
    static constexpr u64 kLarge = 1ull << 7;
    static constexpr u64 kAddrMask = 0x000ffffffffff000ull;

    // 2 MiB leaves only (every VT-d unit Keel accepts has them: Vtd::init checks SLLPS).
    static constexpr bool block_allowed(int level) { return level == 2; }
    static constexpr bool is_present(u64 e) { return (e & (kRead | kWrite)) != 0; }
    static constexpr bool is_leaf(u64 e, int level) { return level == 3 || (e & kLarge) != 0; }
    static constexpr u64 make_table(PhysAddr next) {
        return (next.raw() & kAddrMask) | kRead | kWrite;
    }
    static constexpr PhysAddr table_output(u64 e) { return PhysAddr(e & kAddrMask); }
    static constexpr u64 make_leaf(PhysAddr pa, mm::Attrs a, int level) {
        u64 e = (pa.raw() & kAddrMask) | kRead;
        if (a.write) e |= kWrite;
        if (level < 3) e |= kLarge;
        return e;
    }
    static constexpr PhysAddr leaf_output(u64 e) { return PhysAddr(e & kAddrMask); }
    static constexpr mm::Attrs leaf_attrs(u64 e) {
        return mm::Attrs{true, (e & kWrite) != 0, false, false};
    }
};

using VtdSl3 = VtdSlFormat<3>;
using VtdSl4 = VtdSlFormat<4>;

static_assert(VtdSl4::make_leaf(PhysAddr(0x48200000), mm::Attrs{true, true, false, false}, 2) ==
                  0x48200083ull,
              "2 MiB read-write leaf: R, W, PS");
static_assert(VtdSl3::make_leaf(PhysAddr(0x1000), mm::Attrs{true, false, false, false}, 3) ==
                  0x1001ull,
              "4 KiB read-only leaf");

} // namespace keel::iommu
