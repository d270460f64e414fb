// The incoming image's side of a live update's jump (docs/handover.md §4.3, §4.5), and the
// doorbell both images use to move the parked cores.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::arm64 {

// One 64-byte line in the update region (live_update.cpp), mapped by both images. The
// outgoing image zeroes it before the jump; the incoming one names its secondary entry in
// it, each core of the outgoing image but the boot core enters there once (counting
// `arrived`) and waits for `go`: it stays (kGoStay) or hands back (kGoBack), counting `left`
// as the last thing it does with the doorbell; the outgoing image's cores count `back` when
// they are home again.
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

// Waits until `counter` (atomic) reaches `n` or `ms` milliseconds pass; returns its value.
u32 wait_count(const u32& counter, u32 n, u64 ms);

// Whether the entry's x0 is a handover record (its magic), not a DTB or a BootInfo.
bool is_handover_record(u64 x0);
// Entered by the outgoing image's boot core with the EL2 MMU off (handover_jump.S's
// arguments, then start.S's relocation figures). Never returns: hands back.
[[noreturn]] void handover_main(u64 record, u64 back, u64 uart, u64 cookie, u64 doorbell,
                                u64 link_base, u64 relocs);

} // namespace keel::arm64
