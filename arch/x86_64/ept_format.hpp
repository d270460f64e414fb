// Intel EPT paging-structure entries (SDM Vol. 3C 29.3.2, Tables 29-1..29-6), as a
// Format policy for mm::PageTable: 4 levels (PML4 = level 0), 48-bit guest-physical.
#pragma once

#include "hypervisor/mm/page_table.hpp"

namespace keel::x86 {

struct EptFormat {
    static constexpr int kTopLevel = 0;
    static constexpr unsigned kInputBits = 48;

    static constexpr u64 kRead = 1ull << 0;
    static constexpr u64 kWrite = 1ull << 1;
    static constexpr u64 kExec = 1ull << 2;
    static constexpr u64 kMemTypeWb = 6ull << 3; // bits 5:3, leaves only
    static constexpr u64 kMemTypeUc = 0ull << 3;
    static constexpr u64 kLarge = 1ull << 7; // PDPTE/PDE maps a 1 GiB/2 MiB page
    static constexpr u64 kAddrMask = 0x000ffffffffff000ull;

    static constexpr bool block_allowed(int level) { return level == 1 || level == 2; }
    // An EPT entry is present if any of R/W/X is set (SDM 29.3.2).
    static constexpr bool is_present(u64 e) { return (e & (kRead | kWrite | kExec)) != 0; }
    static constexpr bool is_leaf(u64 e, int level) {
        return level == 3 || (level > 0 && (e & kLarge));
    }
    static constexpr u64 make_table(PhysAddr next) {
        return (next.raw() & kAddrMask) | kRead | kWrite | kExec;
    }
    static constexpr PhysAddr table_output(u64 e) { return PhysAddr(e & kAddrMask); }
    static constexpr u64 make_leaf(PhysAddr pa, mm::Attrs a, int level) {
        u64 e = (pa.raw() & kAddrMask) | (a.device ? kMemTypeUc : kMemTypeWb);
        if (level < 3) e |= kLarge;
        if (a.read) e |= kRead;
        if (a.write) e |= kWrite;
        if (a.exec) e |= kExec;
        return e;
    }
    static constexpr PhysAddr leaf_output(u64 e) { return PhysAddr(e & kAddrMask); }
    static constexpr mm::Attrs leaf_attrs(u64 e) {
        return mm::Attrs{(e & kRead) != 0, (e & kWrite) != 0, (e & kExec) != 0,
                         (e & (7ull << 3)) == kMemTypeUc};
    }
};

static_assert(EptFormat::make_leaf(PhysAddr(0x200000), mm::Attrs{}, 2) == (0x200000ull | 0xb7ull),
              "EPT RWX write-back 2 MiB page");

// AMD NPT uses the long-mode page-table format (AMD APM Vol. 2 15.25.5; 5.3.3):
// every guest access is checked as a user access, so U/S must be set.
struct NptFormat {
    static constexpr int kTopLevel = 0;
    static constexpr unsigned kInputBits = 48;

    static constexpr u64 kPresent = 1ull << 0;
    static constexpr u64 kWrite = 1ull << 1;
    static constexpr u64 kUser = 1ull << 2;
    static constexpr u64 kPcd = 1ull << 4;
    static constexpr u64 kLarge = 1ull << 7;
    static constexpr u64 kNx = 1ull << 63;
    static constexpr u64 kAddrMask = 0x000ffffffffff000ull;

    static constexpr bool block_allowed(int level) { return level == 1 || level == 2; }
    static constexpr bool is_present(u64 e) { return (e & kPresent) != 0; }
    static constexpr bool is_leaf(u64 e, int level) {
        return level == 3 || (level > 0 && (e & kLarge));
    }
    static constexpr u64 make_table(PhysAddr next) {
        return (next.raw() & kAddrMask) | kPresent | kWrite | kUser;
    }
    static constexpr PhysAddr table_output(u64 e) { return PhysAddr(e & kAddrMask); }
    // NPT cannot express write-only or execute-only: `read` false maps nothing useful,
    // so callers never ask for it (leaf_attrs reports read = present).
    static constexpr u64 make_leaf(PhysAddr pa, mm::Attrs a, int level) {
        u64 e = (pa.raw() & kAddrMask) | kPresent | kUser;
        if (level < 3) e |= kLarge;
        if (a.write) e |= kWrite;
        if (!a.exec) e |= kNx;
        if (a.device) e |= kPcd;
        return e;
    }
    static constexpr PhysAddr leaf_output(u64 e) { return PhysAddr(e & kAddrMask); }
    static constexpr mm::Attrs leaf_attrs(u64 e) {
        return mm::Attrs{true, (e & kWrite) != 0, (e & kNx) == 0, (e & kPcd) != 0};
    }
};

} // namespace keel::x86
