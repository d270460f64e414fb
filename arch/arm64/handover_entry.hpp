// The incoming image's side of a live update's jump (docs/handover.md §4.3, §4.5).
#pragma once

#include "hypervisor/update/doorbell.hpp"

namespace keel::arm64 {

// The doorbell (hypervisor/update/doorbell.hpp), shared with x86_64.
using update::Doorbell;
using update::kGoBack;
using update::kGoStay;
using update::kGoWait;

// Waits until `counter` (atomic) reaches `n` or `ms` milliseconds pass; returns its value.
u32 wait_count(const u32& counter, u32 n, u64 ms);

// Whether the entry's x0 is a handover record (its magic), not a DTB or a BootInfo.
bool is_handover_record(u64 x0);
// Entered by the outgoing image's boot core with the EL2 MMU off (handover_jump.S's
// arguments, then start.S's relocation figures). Never returns: hands back.
[[noreturn]] void handover_main(u64 record, u64 back, u64 uart, u64 cookie, u64 doorbell,
                                u64 link_base, u64 relocs);

} // namespace keel::arm64
