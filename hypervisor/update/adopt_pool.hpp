// The incoming image's partition pool, taken from the handover record's PoolRuns
// (docs/handover.md §4 step 4): exactly the runs the outgoing Keel listed, each with its
// owner, so nothing in use (the old image, the update region the new image runs from,
// each VM's RAM) can ever be allocated; only the record's free runs are free. Pure logic,
// host-tested (tests/unit/adopt_pool_test.cpp).
#pragma once

#include "hypervisor/mm/frame_pool.hpp"
#include "hypervisor/update/handover.hpp"

namespace keel::update {

// More runs than a record of this Keel holds (the image, the update region, 8 VMs, 64
// free runs); a record with more is refused.
constexpr u32 kMaxAdoptRuns = 128;

struct PoolAdoption {
    u64 free_bytes = 0;       // the record's free runs
    u64 vm_bytes = 0;         // every VM's RAM
    u64 hypervisor_bytes = 0; // the hypervisor's runs, rounded out to whole blocks
    u32 runs = 0;
    u32 regions = 0; // contiguous stretches of runs: the pool's regions
};

// Checks the record's runs against each other, its Vm records and the incoming image's
// own span `self` (which must lie inside one hypervisor run: the update region), then
// rebuilds `pool` from them. Corrupt, with `*why` naming the rule, when: a VM's or a free
// run is not in whole 2 MiB blocks; two runs overlap (hypervisor runs rounded out to
// blocks); a VM run is not exactly one Vm record's RAM or a Vm record has no run; `self`
// is not inside a hypervisor run; there are more runs, regions or blocks than the pool
// holds. A refusal leaves `pool` as it was.
[[nodiscard]] Status adopt_pool(const HandoverView& v, mm::Span self, mm::FramePool& pool,
                                PoolAdoption& out, const char** why);

} // namespace keel::update
