// The hypervisor's own EL2 stage-1 translation (identity mapped, 4 KiB granule,
// 39-bit VA, three levels). It maps only the image, the device-tree blob and the
// device registers Keel uses; never the partition pool (ARCHITECTURE.md).
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::arm64 {

enum class MapKind {
    Text,      // read-only, executable
    ReadOnly,  // read-only, execute-never
    ReadWrite, // read-write, execute-never
    Device,    // Device-nGnRE, read-write, execute-never
};

// Identity-maps [addr, addr+size) (rounded out to pages). Fails on overlap with a
// different mapping or when the table pool is exhausted.
Status el2_map(u64 addr, u64 size, MapKind kind);
// Programs MAIR/TCR/TTBR0_EL2 and turns on the MMU, caches and WXN.
void el2_enable_mmu();

} // namespace keel::arm64
