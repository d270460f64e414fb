// The I/O region (docs/handover.md §1.1): the memory devices read and write on Keel's behalf,
// outside every image so that it outlives one at a live update. The SMMU's stream table,
// queues and context descriptors (or the VT-d unit's root, context, invalidation queue and
// interrupt remapping tables) and the IOMMU's table pages, the MSI controller's tables
// (arm64: the ITS's and the LPI configuration and pending tables, which the redistributor
// keeps once LPIs are on) and the SR-IOV PFs' admin queue pages. One hypervisor run of the
// pool taken at boot, before the IOMMU is brought up, where the arch has a live update and
// the machine is served by the mailbox; otherwise each user keeps its storage in the image,
// and no update is taken while an IOMMU is in use. Its layout is part of the handover ABI
// (IoRecord layout_bytes).
#pragma once

#include <arch/vm.hpp>

#include "drivers/iommu/smmuv3.hpp"
#include "drivers/iommu/vtd.hpp"

namespace keel {

constexpr u32 kIoTablePages = 16; // a VM's IOVA space in 2 MiB blocks takes 2-3

struct PfQueuePages {
    u8 sq[mm::kPageSize];
    u8 cq[mm::kPageSize];
    u8 scratch[mm::kPageSize];
};

// 64 KiB aligned: the LPI pending table's alignment, above the stream table's 16 KiB.
static_assert(arch::kMsiMemoryAlign <= 64 * KiB);
struct alignas(64 * KiB) IoRegion {
    u8 msi[arch::kMsiMemoryBytes != 0 ? arch::kMsiMemoryBytes : arch::kMsiMemoryAlign];
    // One platform IOMMU kind per machine (iommu_boot.hpp): its structures share the place.
    union {
        iommu::SmmuMemory smmu;
        iommu::VtdMemory vtd;
    };
    alignas(mm::kPageSize) u64 tables[kIoTablePages][mm::kEntriesPerTable];
    alignas(mm::kPageSize) PfQueuePages pf;
};

static_assert(sizeof(IoRegion) <= 2 * MiB, "one pool block (docs/handover.md §1.1)");
// VT-d's structures where the SMMU's are: arm64's layout (the Io record's layout_bytes) is
// what it was before x86 had an I/O region.
static_assert(sizeof(iommu::VtdMemory) <= sizeof(iommu::SmmuMemory) &&
              alignof(iommu::VtdMemory) <= alignof(iommu::SmmuMemory));

// Boot core, before iommu_bring_up: the region out of the pool and mapped, each user pointed
// at its part. False (said on the console) where the arch has no live update or the pool
// has no room: then every user keeps the image's storage.
bool io_region_reserve();
// The incoming image of a live update (the arch mapped [base, +size)): the region the
// record names, each user pointed at it before it adopts what is there. InvalidArgument
// when it cannot hold this image's layout.
Status io_region_take(u64 base, u64 size);
// The region in use, or null, and the memory taken for it (0 without one).
[[nodiscard]] IoRegion* io_region();
[[nodiscard]] u64 io_region_size();

} // namespace keel
