// ARM VMSAv8-64 stage-2 descriptors, 4 KiB granule (ARM ARM D8.3, D8.4.2 "Stage 2
// memory region attributes"), as a Format policy for mm::PageTable. 3 levels from
// level 1: 39-bit IPA (VTCR_EL2.T0SZ = 25, SL0 = 1).
#pragma once

#include "hypervisor/mm/vmsa_walk.hpp"

namespace keel::arm64 {

struct Stage2Format : mm::VmsaWalk {
    static constexpr u64 kMemAttrNormalWb = 0xfull << 2; // MemAttr[5:2] = 0b1111
    static constexpr u64 kMemAttrDevice = 0x1ull << 2;   // Device-nGnRE
    static constexpr u64 kS2apRead = 1ull << 6;          // S2AP[0]
    static constexpr u64 kS2apWrite = 1ull << 7;         // S2AP[1]
    static constexpr u64 kShInner = 3ull << 8;
    static constexpr u64 kAccessFlag = 1ull << 10;
    static constexpr u64 kXn = 2ull << 53; // XN[1:0] = 0b10: no execution at EL1/EL0

    static constexpr u64 make_leaf(PhysAddr pa, mm::Attrs a, int level) {
        u64 e = (pa.raw() & kAddrMask) | kValid | kAccessFlag;
        if (level == 3) e |= kTableOrPage;
        e |= a.device ? kMemAttrDevice : (kMemAttrNormalWb | kShInner);
        if (a.read) e |= kS2apRead;
        if (a.write) e |= kS2apWrite;
        if (!a.exec) e |= kXn;
        return e;
    }
    static constexpr mm::Attrs leaf_attrs(u64 e) {
        return mm::Attrs{(e & kS2apRead) != 0, (e & kS2apWrite) != 0, (e & (3ull << 53)) == 0,
                         (e & (0xfull << 2)) == kMemAttrDevice};
    }
};

static_assert(Stage2Format::make_leaf(PhysAddr(0x40000000), mm::Attrs{}, 2) ==
                  (0x40000000ull | 0x7fdull),
              "stage-2 RWX normal block: valid, MemAttr WB, S2AP RW, SH inner, AF");

} // namespace keel::arm64
