// Incoming-image checks (image_check.hpp, docs/handover.md §1).
#include "hypervisor/update/image_check.hpp"

#include <string.h>

#include "hypervisor/bytes.hpp"
#include "hypervisor/print.hpp"

namespace keel::update {
namespace {

using ull = unsigned long long;

Status refuse_image(Outcome& out, image::Refusal r, const image::Header& h, const Expect& e) {
    out.why = Refusal::Image;
    out.image = r;
    out.status = image::refusal_status(r);
    if (r == image::Refusal::Rollback)
        format(out.message, sizeof out.message, "%s (image %u, floor %u)",
               image::refusal_message(r), h.security_version, e.policy.security_floor);
    else
        format(out.message, sizeof out.message, "%s", image::refusal_message(r));
    return out.status;
}

} // namespace

Status check_image(const u8* file, u64 len, const Expect& expect, Outcome& out) {
    out = Outcome{};
    static image::VerifiedHeader vh; // 1 KiB: kept off the boot core's stack
    image::Refusal r =
        image::verify_header(file, static_cast<usize>(len), len, expect.anchor, expect.policy, vh);
    if (r != image::Refusal::None) return refuse_image(out, r, vh.header, expect);
    const image::Header& h = vh.header;
    // The file is in private memory: hashing it here is hashing what will be placed.
    for (u32 i = 0; i < h.segment_count; ++i) {
        const image::Segment& s = h.segments[i];
        r = image::verify_segment(vh, i, file + s.file_offset, static_cast<usize>(s.file_size));
        if (r != image::Refusal::None) {
            (void)refuse_image(out, r, h, expect);
            format(out.message, sizeof out.message, "%s (segment %u)", image::refusal_message(r),
                   i);
            return out.status;
        }
    }
    // Authenticated from here: the note is inside segment 0's hashed bytes.
    const image::Segment& s0 = h.segments[0];
    ImageNote n{};
    if (s0.file_size >= kNoteOffset + sizeof n)
        memcpy(&n, file + s0.file_offset + kNoteOffset, sizeof n);
    if (n.magic != kNoteMagic || n.note_version != kNoteVersion ||
        (n.flags & ~kNoteFlagsKnown) != 0 || !all_zero(n.reserved, sizeof n.reserved) ||
        n.version[sizeof n.version - 1] != '\0') {
        out.why = Refusal::NoNote;
        out.status = Status::Corrupt;
        format(out.message, sizeof out.message, "image has no Keel image note (no live update)");
        return out.status;
    }
    if (expect.handover_written < n.handover_min || expect.handover_written > n.handover_max) {
        out.why = Refusal::HandoverAbi;
        out.status = Status::Unsupported;
        format(out.message, sizeof out.message,
               "incompatible handover ABI (image adopts %u..%u, this Keel writes %u)",
               n.handover_min, n.handover_max, expect.handover_written);
        return out.status;
    }
    out.hv_version = h.hv_version;
    out.security_version = h.security_version;
    out.note = n;
    format(out.message, sizeof out.message, "verified: %s, security version %u, handover %u..%u%s",
           n.version, h.security_version, n.handover_min, n.handover_max,
           (n.flags & kNoteFlagFailHealthCheck) != 0 ? " (test image: fails its health check)"
                                                     : "");
    return Status::Ok;
}

} // namespace keel::update
