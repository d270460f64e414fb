// Placing a verified incoming keel.img where it will run during a live update (docs/handover.md
// §1.4): its segments laid out in the run slot at the same offsets from each other as at
// their load addresses (the image relocates itself to the slot), the rest of its span zeroed,
// and each segment's SHA-384 checked again on the placed bytes, as the boot stage checks the
// bytes at load_addr. Pure logic: host-tested (tests/unit/update_place_test.cpp).
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"
#include "hypervisor/update/handover.hpp"

namespace keel::update {

struct Placement {
    u64 span = 0;         // bytes of the slot the image occupies (lowest load_addr to the end)
    u64 entry_offset = 0; // the entry, from the slot's start
    char message[96] = {};
};

// `file`/`len`: the staged keel.img, verified by check_image() and in memory nobody else
// writes. `slot`: the run slot, 4 KiB aligned, `slot_size` bytes. Ok, or OutOfRange when the
// image's span does not fit, Corrupt when a placed segment does not hash to its header's
// value (the message says which); on a refusal the slot holds nothing runnable (zeroed).
[[nodiscard]] Status place_image(const u8* file, u64 len, u8* slot, u64 slot_size, Placement& out);

// A rollback (docs/handover.md §4.7): the image `o` describes, at `image` (its base, `o.span`
// bytes), put back as it was loaded: its pristine copy over the bytes that changed since
// (restore_*), and what follows them zero as place_image() leaves an image, the copy itself
// excepted; what precedes them (.text) is not touched. InvalidArgument, nothing written, when
// `o` breaks §2.3's rules; BadState when it names no copy.
[[nodiscard]] Status restore_image(u8* image, const OldImageRecord& o);

} // namespace keel::update
