// The incoming image's side of a live update's jump (docs/handover.md §4.3).
#pragma once

#include "hypervisor/types.hpp"

namespace keel::arm64 {

// Whether the entry's x0 is a handover record (its magic), not a DTB or a BootInfo.
bool is_handover_record(u64 x0);
// Entered by the outgoing image with the EL2 MMU off: record, where to hand back, the
// console UART, and start.S's relocation figures. Never returns: hands back.
[[noreturn]] void handover_main(u64 record, u64 back, u64 uart, u64 link_base, u64 relocs);

} // namespace keel::arm64
