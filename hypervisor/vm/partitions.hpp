// The partition pool as a machine-wide service: one FramePool over the RAM the boot
// info lists, minus the hypervisor image and the device tree, behind one lock (the
// outermost in the lock order, see spinlock.hpp). Owner ids are VM ids.
#pragma once

#include "hypervisor/boot_info.hpp"
#include "hypervisor/mm/frame_pool.hpp"
#include "hypervisor/platform.hpp"

namespace keel {

// Builds the pool and prints "pool: N MiB free"; the figure is the baseline every VM
// teardown is checked against.
Status pool_init(const BootInfo& info, const Platform& platform);
[[nodiscard]] u64 pool_baseline();
[[nodiscard]] u64 pool_free_bytes();
Result<PhysAddr> pool_alloc(u64 size, mm::OwnerId owner);
// Takes [base, base+size) out of the pool for good (guest sources the loader left in
// RAM); only at boot, before any VM owns memory. The baseline drops by what it took.
Status pool_reserve_source(PhysAddr base, u64 size);
// Scrubs and frees every block of `owner`; returns the pool's free bytes afterwards.
u64 pool_release(mm::OwnerId owner);

} // namespace keel
