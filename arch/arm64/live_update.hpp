// arm64 live update (docs/handover.md §4): the vCPU loop's side of a quiesce.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::arm64 {

// Whether the boot core asked every vCPU to park (cheap: one load).
inline u32 g_quiesce_request = 0;
inline bool quiesce_requested() { return __atomic_load_n(&g_quiesce_request, __ATOMIC_ACQUIRE); }
// The vCPU's core, its state saved: counts itself parked and waits (interrupts masked at
// EL2, so the guest's timer and device interrupts stay pending) until the boot core resumes.
void park_until_resumed();

} // namespace keel::arm64
