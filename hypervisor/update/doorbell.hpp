// The doorbell both images of a live update use to move the parked cores (docs/handover.md
// §4.5), the same on both arches: one 64-byte line in the update region, which both images
// reach. The outgoing image zeroes it before the jump; the incoming one names its secondary
// entry in it; each core of the outgoing image but the boot core enters there once (counting
// `arrived`) and waits for `go`: it stays (kGoStay) or hands back (kGoBack), counting `left`
// as the last thing it does with the doorbell; the outgoing image's cores count `back` when
// they are home again.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::update {

struct Doorbell {
    u64 secondary_entry;
    u32 arrived, left, back;
    u32 go;     // the incoming boot core's word once every core arrived: kGo*
    u32 reason; // with kGoBack: the update::HandBackReason the cores hand back with
    u32 pad0;
    u64 pad[4];
};
constexpr u32 kGoWait = 0, kGoStay = 1, kGoBack = 2;
static_assert(sizeof(Doorbell) == 64, "docs/handover.md §4.5: one cache line");

} // namespace keel::update
