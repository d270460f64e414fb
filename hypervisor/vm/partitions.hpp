// The partition pool as a machine-wide service: one FramePool over the RAM the boot
// info lists, minus the hypervisor image and the device tree, behind one lock (the
// outermost in the lock order, see spinlock.hpp). Owner ids are VM ids.
#pragma once

#include "hypervisor/boot_info.hpp"
#include "hypervisor/mm/frame_pool.hpp"
#include "hypervisor/platform.hpp"
#include "hypervisor/update/adopt_pool.hpp"

namespace keel {

// Builds the pool and prints "pool: N MiB free"; the figure is the baseline every VM
// teardown is checked against.
Status pool_init(const BootInfo& info, const Platform& platform);
[[nodiscard]] u64 pool_baseline();
[[nodiscard]] u64 pool_free_bytes();
Result<PhysAddr> pool_alloc(u64 size, mm::OwnerId owner, mm::Zeroing zeroing = mm::Zeroing::Now,
                            const mm::Span* prefer = nullptr, u32 prefer_count = 0);
// Guest sources (a kernel or initrd a firmware loader left in RAM) held for boot-time
// VMs, before any VM owns memory: [base, base+size) must be free pool RAM (not outside
// RAM, not the hypervisor's image, firmware or boot data, not already held), else
// OutOfRange / Busy and nothing changes. The baseline drops by what it took;
// pool_release_source() gives the same range back (scrubbed) when no definition uses it.
[[nodiscard]] Status pool_claim_source(PhysAddr base, u64 size);
// The check pool_claim_source() makes, without taking anything (before reading a header).
[[nodiscard]] Status pool_check_source(PhysAddr base, u64 size);
void pool_release_source(PhysAddr base, u64 size);
// Takes `size` bytes (whole blocks, contiguous, zeroed) out of the pool for the hypervisor
// itself for good (live update's region, docs/handover.md §1.1); the baseline drops by
// them. Only before any VM owns memory. NoMemory when no run is free.
Result<PhysAddr> pool_reserve_hypervisor(u64 size, const char* what);
// Gives hypervisor blocks back (scrubbed) to the pool: a live update's outgoing image at the
// commit (docs/handover.md §4.6); the baseline rises by as much. BadState, nothing changed,
// unless every block of the range is the hypervisor's.
[[nodiscard]] Status pool_release_hypervisor(PhysAddr base, u64 size);
// Scrubs and frees every block of `owner`; returns the pool's free bytes afterwards.
u64 pool_release(mm::OwnerId owner);
// Fills `bases`/`sizes` with the pool's maximal free runs, lowest first (live update's
// PoolRuns record, docs/handover.md §2.2); returns how many there are, which may exceed
// `max` (only `max` are written then).
u32 pool_free_runs(u64* bases, u64* sizes, u32 max);
// Live update's incoming image (docs/handover.md §4 step 4): the pool becomes exactly the
// record's PoolRuns (update::adopt_pool; `self` is this image's span) instead of the memory
// map; the baseline is what would be free with no VM. A refusal changes nothing.
[[nodiscard]] Status pool_adopt(const update::HandoverView& v, mm::Span self,
                                update::PoolAdoption& out, const char** why);
// Who owns the block holding `addr` and how many bytes `owner` has (VM adoption's check).
[[nodiscard]] mm::OwnerId pool_owner_of(PhysAddr addr);
[[nodiscard]] u64 pool_owned_bytes(mm::OwnerId owner);

} // namespace keel
