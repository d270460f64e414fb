// The records both arches write alike while quiesced (docs/handover.md §2.2): a VM's Vm
// record, and PoolRuns, what the incoming image's pool must be, exactly. Image only (it reads the
// VM manager and the pool).
#pragma once

#include "hypervisor/update/handover.hpp"

namespace keel {
struct Vm;
}

namespace keel::update {

// A VM's Vm record (§2.2) from the VM manager's view of it, with `vcpus` vCPUs.
[[nodiscard]] Status describe_vm_record(HandoverWriter& w, const Vm& vm, u32 vcpus);

// Hypervisor runs first: the running image's span (unless it lies inside the update region,
// as an image that came in by an update and is not committed yet), the update region and,
// in the trial, the outgoing image (base 0: none); then each VM's RAM and every free run.
// NoMemory when the pool has more free runs than a record lists.
[[nodiscard]] Status describe_pool(HandoverWriter& w, u64 image_base, u64 image_span,
                                   u64 region_base, u64 region_size, u64 outgoing_base,
                                   u64 outgoing_span);

} // namespace keel::update
