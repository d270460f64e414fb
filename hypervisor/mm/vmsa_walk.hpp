// The part of the ARM VMSAv8-64 descriptor format every ARM translation Keel builds shares
// (ARM ARM D8.3, 4 KiB granule, 3 levels from level 1 for a 39-bit input): valid bit, table
// vs block/page, output address bits [47:12]. The arm64 stage-2 and EL2 formats
// (arch/arm64/stage2_format.hpp, el2_format.hpp) and the SMMU's stage-1 format
// (drivers/iommu/smmu_format.hpp) add their own leaf attributes on top.
#pragma once

#include "hypervisor/mm/page_table.hpp"

namespace keel::mm {

struct VmsaWalk {
    // Descriptor bits: valid [0], table (levels 1-2) or page (level 3) [1], output [47:12].
    static constexpr u64 kValid = 1ull << 0, kTableOrPage = 1ull << 1;
    static constexpr u64 kAddrMask = 0x0000fffffffff000ull;
    static constexpr unsigned kInputBits = 39; // from level 1 (T0SZ = 25)
    static constexpr int kTopLevel = 1;

    static constexpr bool block_allowed(int level) { return level == 1 || level == 2; }
    static constexpr bool is_present(u64 e) { return (e & kValid) != 0; }
    static constexpr bool is_leaf(u64 e, int level) {
        return level == 3 || (e & kTableOrPage) == 0;
    }
    static constexpr u64 make_table(PhysAddr next) {
        return (next.raw() & kAddrMask) | kValid | kTableOrPage;
    }
    static constexpr PhysAddr table_output(u64 e) { return PhysAddr(e & kAddrMask); }
    static constexpr PhysAddr leaf_output(u64 e) { return PhysAddr(e & kAddrMask); }
};

} // namespace keel::mm
