// x86-64 4-level paging (SDM Vol. 3A 4.5, Tables 4-15..4-20) for the hypervisor's own
// tables, as a Format policy for mm::PageTable: PML4 = level 0 ... page table = level 3,
// input = the lower canonical half (47 bits; the tables are an identity map).
//
// The entries are the long-mode ones AMD's nested paging reuses, so the walk comes from
// NptFormat; the hypervisor's own entries differ in the leaf bits:
//   P[0] present   R/W[1] writable   U/S[2] clear: supervisor only
//   PWT[3]+PCD[4]  device memory: uncached (PAT entry 3 with the reset PAT)
//   PS[7]          2 MiB page in a PDE   XD[63] execute-disable (needs EFER.NXE)
// Accessed[5] and Dirty[6] are the CPU's (4.8): ignored when decoding.
#pragma once

#include "ept_format.hpp"

namespace keel::x86 {

struct PagingFormat : NptFormat {
    using Input = VirtAddr;
    static constexpr unsigned kInputBits = 47; // kTopLevel 0: the PML4
    static constexpr u64 kPwt = 1ull << 3;

    // 2 MiB pages only: 1 GiB pages need CPUID.80000001H:EDX.Page1GB (4.1.4).
    static constexpr bool block_allowed(int level) { return level == 2; }
    static constexpr u64 make_table(PhysAddr next) {
        return (next.raw() & kAddrMask) | kPresent | kWrite;
    }
    static constexpr u64 make_leaf(PhysAddr pa, mm::Attrs a, int level) {
        u64 e = (pa.raw() & kAddrMask) | kPresent | (level < 3 ? kLarge : 0);
        if (a.write) e |= kWrite;
        if (!a.exec) e |= kNx;
        if (a.device) e |= kPcd | kPwt;
        return e;
    }
    // leaf_attrs: NptFormat's (readable when present; W, !XD, PCD).
};

static_assert(PagingFormat::make_leaf(PhysAddr(0x100000), mm::host_attrs(mm::HostMap::Device), 3) ==
                  (0x8000000000100000ull | 0x1bull),
              "x86 device page: P, R/W, PWT, PCD, XD");

} // namespace keel::x86
