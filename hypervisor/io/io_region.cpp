#include "hypervisor/io/io_region.hpp"

#include <arch/update.hpp>

#include "hypervisor/io/iommu_boot.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/vm/partitions.hpp"

namespace keel {
namespace {

IoRegion* g_region = nullptr;
u64 g_size = 0; // what was taken for it (the pool's blocks), as the record says

void point_users(IoRegion& r, u64 size) {
    (void)iommu_use_memory(r.smmu, r.vtd, r.tables);
    arch::msi_use_memory(r.msi);
    g_region = &r;
    g_size = size;
}

} // namespace

bool io_region_reserve() {
    update::Swap* swap = arch::live_update();
    if (swap == nullptr) return false;
    u64 base = 0, size = 0;
    const Status s = swap->reserve_io(sizeof(IoRegion), &base, &size);
    if (s != Status::Ok) {
        kprint("io: no I/O region (%s): the IOMMU's tables stay in the image, no live update "
               "while it is in use\n",
               status_name(s));
        return false;
    }
    point_users(*reinterpret_cast<IoRegion*>(base), size);
    kprint("io: I/O region %#llx, %llu KiB: the IOMMU's and MSI controller's tables and the PF "
           "queues outlive a live update\n",
           static_cast<unsigned long long>(base),
           static_cast<unsigned long long>(sizeof(IoRegion) / KiB));
    return true;
}

Status io_region_take(u64 base, u64 size) {
    if (g_region != nullptr) return Status::BadState;
    if (base % alignof(IoRegion) != 0 || size < sizeof(IoRegion)) return Status::InvalidArgument;
    point_users(*reinterpret_cast<IoRegion*>(base), size);
    return Status::Ok;
}

IoRegion* io_region() { return g_region; }
u64 io_region_size() { return g_size; }

} // namespace keel
