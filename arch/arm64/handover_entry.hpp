// The incoming image's side of a live update's jump (docs/handover.md §4.3, §4.5), and the
// doorbell both images use to move the parked cores.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::arm64 {

// One 64-byte line in the update region (live_update.cpp), mapped by both images. The
// outgoing image zeroes it before the jump; the incoming one names its secondary entry in
// it, each parked core of the outgoing image enters there once (counting `arrived`) and
// counts `left` as the last thing it does in the incoming image; the outgoing image's cores
// count `back` when they are home again.
struct Doorbell {
    u64 secondary_entry;
    u32 arrived, left, back, reserved;
    u64 pad[5];
};
static_assert(sizeof(Doorbell) == 64, "docs/handover.md §4.5: one cache line");

// Whether the entry's x0 is a handover record (its magic), not a DTB or a BootInfo.
bool is_handover_record(u64 x0);
// Entered by the outgoing image's boot core with the EL2 MMU off (handover_jump.S's
// arguments, then start.S's relocation figures). Never returns: hands back.
[[noreturn]] void handover_main(u64 record, u64 back, u64 uart, u64 cookie, u64 doorbell,
                                u64 link_base, u64 relocs);

} // namespace keel::arm64
