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
// An idle core's work loop, woken while a quiesce is asked for: once per quiesce (`seen`
// is the core's own count), into the incoming image like a parked core (docs/handover.md
// §4.5), where it stays if the image does.
void visit_while_idle(u32* seen);
// An adopted vCPU about to re-enter its guest in the incoming image (the health check counts
// them, docs/handover.md §4.6).
void vcpu_reentered();
// The device tree an incoming image that stayed took from the record (0 on a first boot).
inline u64 g_adopted_dtb = 0;
// The ACPI RSDP it took from the record instead (an ACPI boot; 0 otherwise).
inline u64 g_adopted_rsdp = 0;

} // namespace keel::arm64
