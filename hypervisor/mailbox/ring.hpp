// Ring index math (docs/mailbox.md §3.6). Indices are free-running u32 counters; slot =
// index % slots. The producer owns `prod`, the consumer owns `cons`; each side reads the
// other's index once per poll and trusts it only after these checks, because a hostile
// controller can write any value.
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::mailbox {

// Entries waiting: prod - cons (mod 2^32). More than `slots` means the controller wrote
// an impossible producer index: OutOfRange, and nothing is consumed.
[[nodiscard]] constexpr Result<u32> ring_pending(u32 prod, u32 cons, u32 slots) {
    u32 n = prod - cons;
    if (n > slots) return Status::OutOfRange;
    return n;
}

// Free slots for a producer whose consumer index comes from the other side. An
// impossible consumer index (ahead of the producer, or more than a ring behind) counts
// as "no room": the producer then never overwrites anything unread.
[[nodiscard]] constexpr u32 ring_free(u32 prod, u32 cons, u32 slots) {
    u32 used = prod - cons;
    if (used > slots) return 0;
    return slots - used;
}

[[nodiscard]] constexpr u32 ring_slot(u32 index, u32 slots) { return index % slots; }

} // namespace keel::mailbox
