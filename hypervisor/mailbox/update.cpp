// UPDATE (docs/mailbox.md §3.8, docs/handover.md): an incoming keel.img arrives through
// the bulk window, chunk by chunk, into the update region reserved at boot; Verify runs the
// boot stage's checks and the handover-ABI check on that private copy. Nothing outside
// the update region changes on any step, and a refusal also drops what was staged.
#include <string.h>

#include "hypervisor/mailbox/service.hpp"
#include "hypervisor/print.hpp"

namespace keel::mailbox {

void Service::set_update(u8* region, u64 size, const update::Expect& expect) {
    update_ = Staged{};
    update_.region = region;
    update_.region_size = size & ~u64(3); // chunks are copied in whole words
    update_.expect = expect;
}

void Service::update_reset() {
    // What was staged is forgotten (and wiped: the region holds nothing half-checked).
    if (update_.region != nullptr && update_.staged != 0)
        memset(update_.region, 0, static_cast<usize>(align_up(update_.staged, 4)));
    update_.size = update_.staged = 0;
    update_.open = update_.verified = false;
}

Status Service::do_update(const Command& c, u8 (&reply)[kRespPayloadMax]) {
    const UpdatePayload& u = c.update;
    UpdateReply out{};
    Status s = Status::Ok;
    const char* step = "?";
    if (update_.region == nullptr) {
        s = Status::Unsupported;
        format(out.message, sizeof out.message, "this Keel has no update region");
    } else {
        switch (static_cast<UpdateStep>(u.step)) {
        case UpdateStep::Begin:
            step = "begin";
            update_reset();
            out.region_bytes = update_.region_size;
            if (u.image_size > update_.region_size) {
                s = Status::OutOfRange;
                format(out.message, sizeof out.message,
                       "image of %llu bytes does not fit the update region (%llu)",
                       static_cast<unsigned long long>(u.image_size),
                       static_cast<unsigned long long>(update_.region_size));
                break;
            }
            update_.size = u.image_size;
            update_.open = true;
            break;
        case UpdateStep::Chunk:
            step = "chunk";
            if (!update_.open || update_.verified) {
                s = Status::BadState;
                break;
            }
            // In order, and never past what Begin announced.
            if (u.image_offset != update_.staged || u.length > update_.size - update_.staged) {
                s = Status::OutOfRange;
                break;
            }
            s = region_.copy_in(kBulkOffset + u.bulk_offset, update_.region + update_.staged,
                                align_up(u.length, 4));
            if (s == Status::Ok) update_.staged += u.length;
            break;
        case UpdateStep::Verify: {
            step = "verify";
            if (!update_.open || update_.verified || update_.staged != update_.size) {
                s = Status::BadState;
                format(out.message, sizeof out.message, "no complete image staged");
                break;
            }
            update::Outcome o;
            s = update::check_image(update_.region, update_.size, update_.expect, o);
            memcpy(out.message, o.message, sizeof out.message);
            out.message[sizeof out.message - 1] = '\0';
            if (s != Status::Ok) {
                kprint("update: refused: %s\n", out.message);
                update_reset();
                break;
            }
            update_.verified = true;
            out.hv_version = o.hv_version;
            out.security_version = o.security_version;
            out.handover_min = o.note.handover_min;
            out.handover_max = o.note.handover_max;
            memcpy(out.version, o.note.version, sizeof out.version);
            kprint("update: %s\n", out.message);
            break;
        }
        case UpdateStep::Apply:
            step = "apply";
            // The swap (docs/handover.md §4) is not built yet: the verified image stays
            // staged and nothing else changes.
            s = update_.verified ? Status::Unsupported : Status::BadState;
            format(out.message, sizeof out.message,
                   update_.verified ? "the swap is not implemented yet: nothing changed"
                                    : "no verified image staged");
            break;
        }
    }
    if (s != Status::Ok && out.message[0] == '\0')
        format(out.message, sizeof out.message, "%s", status_name(s));
    format(detail_, sizeof detail_, "update %s: %s", step, status_name(s));
    memcpy(reply, &out, sizeof out);
    return s;
}

} // namespace keel::mailbox
