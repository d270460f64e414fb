// Whether an incoming keel.img may replace the running Keel (docs/handover.md §1): the
// boot stage's own verifier (boot/image/keel_image.cpp: built-in key, signature, arch,
// security-version floor, every field, each segment's SHA-384) on a private copy of the
// file, then the image note's handover ABI against the record this Keel writes. Pure
// logic, no side effects: host-tested (tests/unit/update_check_test.cpp).
#pragma once

#include "boot/image/keel_image.hpp"
#include "hypervisor/update/image_note.hpp"

namespace keel::update {

enum class Refusal : u32 {
    None = 0,
    Image,       // the boot stage's verifier refused it: Outcome::image says why
    NoNote,      // no valid image note: an image without live-update support
    HandoverAbi, // it cannot adopt the handover record this Keel writes
};

struct Expect {
    image::TrustAnchor anchor;
    image::Policy policy;
    u32 handover_written = kHandoverAbi; // the record version this Keel would hand over
};

struct Outcome {
    Refusal why = Refusal::None;
    image::Refusal image = image::Refusal::None;
    Status status = Status::Ok; // what the controller gets back
    char message[96] = {};      // one line: the refusal, or what was accepted
    u32 hv_version = 0;         // of the accepted image
    u32 security_version = 0;
    ImageNote note{}; // the accepted image's note
};

// `file`/`len`: the whole keel.img as received, in memory nobody else can write.
// Ok: every check passed; otherwise the first refusal (status and message in `out`).
[[nodiscard]] Status check_image(const u8* file, u64 len, const Expect& expect, Outcome& out);

} // namespace keel::update
