// A live update's incoming image staying (docs/handover.md §4 steps 4-6): after every object
// of the record was adopted and every core came over, the boot core sends the cores to their
// vCPUs, waits until each re-entered its guest, and carries on as Keel.
#pragma once

#include "handover_entry.hpp"
#include "hypervisor/platform.hpp"
#include "hypervisor/update/handover.hpp"

namespace keel::arm64 {

// Never returns: the point of no return of the update is its first store.
[[noreturn]] void stay(const update::HandoverView& record, Doorbell& d, const Platform& platform,
                       const char* cmdline, u32 parked);

} // namespace keel::arm64
