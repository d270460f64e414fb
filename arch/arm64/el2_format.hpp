// ARM VMSAv8-64 stage-1 descriptors for the EL2 translation regime (non-VHE: one VA
// range, one privilege level), 4 KiB granule (ARM ARM D8.3), as a Format policy for
// mm::PageTable: 4 levels from level 0, 48-bit VA (TCR_EL2.T0SZ = 16), so an identity map
// reaches whatever the output size allows (PCIe windows at 512 GiB and above included).
//
// Table, block and page descriptors have the same layout as stage 2 (valid, bit 1
// table/page, output address bits 47:12), so the walk comes from Stage2Format; only the
// leaf attributes differ:
//   AttrIndx[4:2]  MAIR_EL2 index: 0 Device-nGnRE, 1 Normal write-back (kMair)
//   AP[7:6]        AP[2] = 1 read-only; AP[1] = 0 (one privilege level)
//   SH[9:8]        0b11 inner shareable (normal memory)
//   AF[10]         set: no Access flag faults
//   XN[54]         execute-never
#pragma once

#include "stage2_format.hpp"

namespace keel::arm64 {

struct El2Format : Stage2Format {
    using Input = VirtAddr;
    static constexpr int kTopLevel = 0;
    static constexpr unsigned kInputBits = 48;

    // MAIR_EL2: Attr0 = 0x04 Device-nGnRE, Attr1 = 0xff Normal inner/outer WB RW-allocate.
    static constexpr u64 kMair = 0x04ull | (0xffull << 8);
    static constexpr u64 kAttrNormal = 1ull << 2; // AttrIndx = 1 (0 = device)
    static constexpr u64 kApReadOnly = 1ull << 7; // AP[2]
    static constexpr u64 kXnEl2 = 1ull << 54;

    static constexpr u64 make_leaf(PhysAddr pa, mm::Attrs a, int level) {
        u64 e = (pa.raw() & kAddrMask) | kValid | kAccessFlag | (level == 3 ? kTableOrPage : 0);
        if (!a.device) e |= kAttrNormal | kShInner;
        if (!a.write) e |= kApReadOnly;
        if (!a.exec) e |= kXnEl2;
        return e;
    }
    // Every mapping is readable at EL2.
    static constexpr mm::Attrs leaf_attrs(u64 e) {
        return mm::Attrs{true, (e & kApReadOnly) == 0, (e & kXnEl2) == 0, (e & kAttrNormal) == 0};
    }
};

static_assert(El2Format::make_leaf(PhysAddr(0x40200000), mm::host_attrs(mm::HostMap::Text), 3) ==
                  (0x40200000ull | 0x787ull),
              "EL2 text page: valid, page, AttrIndx 1, AP[2] read-only, SH inner, AF");

} // namespace keel::arm64
