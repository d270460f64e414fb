// UPDATE (docs/mailbox.md §3.10, docs/handover.md): an incoming keel.img arrives through
// the bulk window, chunk by chunk, into the update region reserved at boot; Verify runs the
// boot stage's checks and the handover-ABI check on that private copy (a refusal drops
// what was staged); Apply places the image in the run slot, quiesces every vCPU, writes and
// checks the handover record, enters the new image and, until it can adopt what the record
// describes, resumes the vCPUs when it hands back. Nothing outside the update region and
// the record's buffer changes on any step.
#include <string.h>

#include "hypervisor/mailbox/service.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/update/image_note.hpp"
#include "hypervisor/update/place.hpp"

namespace keel::mailbox {

void Service::set_update(const UpdateSetup& setup) {
    const u64 counter = update_.counter; // adopt() carried it over from the record
    update_ = Staged{};
    update_.counter = counter;
    update_.setup = setup;
    update_.setup.region_size &= ~u64(3); // chunks are copied in whole words
}

void Service::update_reset() {
    // What was staged is forgotten (and wiped: the region holds nothing half-checked).
    if (update_.setup.region != nullptr && update_.staged != 0)
        memset(update_.setup.region, 0, static_cast<usize>(align_up(update_.staged, 4)));
    update_.size = update_.staged = 0;
    update_.open = update_.verified = false;
    update_.copy_ns = 0;
    update_.chunks = 0;
}

Status Service::do_update(const Command& c, u8 (&reply)[kRespPayloadMax]) {
    const UpdatePayload& u = c.update;
    UpdateReply out{};
    Status s = Status::Ok;
    const char* step = "?";
    if (update_.setup.region == nullptr) {
        s = Status::Unsupported;
        format(out.message, sizeof out.message, "this Keel has no update region");
    } else if (trial_.commit != nullptr && u.step != static_cast<u32>(UpdateStep::Commit)) {
        // §4.7: nothing new is staged before this image is committed or rolled back.
        s = Status::BadState;
        const u64 now = backend_->now_ms();
        format(out.message, sizeof out.message,
               "update %llu is not committed: Commit it, or it rolls back in %llu ms",
               static_cast<unsigned long long>(update_.counter),
               static_cast<unsigned long long>(trial_.deadline_ms > now ? trial_.deadline_ms - now
                                                                        : 0));
    } else {
        switch (static_cast<UpdateStep>(u.step)) {
        case UpdateStep::Begin:
            step = "begin";
            update_reset();
            out.region_bytes = update_.setup.region_size;
            if (u.image_size > update_.setup.region_size) {
                s = Status::OutOfRange;
                format(out.message, sizeof out.message,
                       "image of %llu bytes does not fit the update region (%llu)",
                       static_cast<unsigned long long>(u.image_size),
                       static_cast<unsigned long long>(update_.setup.region_size));
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
            {
                const Ticks t0 = ticks_now();
                s = region_.copy_in(kBulkOffset + u.bulk_offset,
                                    update_.setup.region + update_.staged, align_up(u.length, 4));
                update_.copy_ns += ticks_ns(t0, ticks_now());
                ++update_.chunks;
            }
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
            const Ticks t0 = ticks_now();
            s = update::check_image(update_.setup.region, update_.size, update_.setup.expect, o);
            // Keel's own work for the bench's total (docs/performance.md "Live update").
            kprint(
                "update: timing: %llu B staged in %u chunks (copies %llu ns), checked in %u ns\n",
                static_cast<unsigned long long>(update_.staged), update_.chunks,
                static_cast<unsigned long long>(update_.copy_ns), ticks_ns(t0, ticks_now()));
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
            memcpy(update_.version, o.note.version, sizeof update_.version);
            update_.security_version = o.security_version;
            kprint("update: %s\n", out.message);
            break;
        }
        case UpdateStep::Apply:
            step = "apply";
            if (!update_.verified) {
                s = Status::BadState;
                format(out.message, sizeof out.message, "no verified image staged");
            } else if (update_.setup.swap == nullptr || update_.setup.record == nullptr) {
                s = Status::Unsupported;
                format(out.message, sizeof out.message,
                       "this arch has no live swap yet: nothing changed");
            } else if (const char* why = update_.setup.no_swap != nullptr
                                             ? update_.setup.no_swap
                                             : update_.setup.swap->swap_missing()) {
                s = Status::Unsupported;
                format(out.message, sizeof out.message, "%s: nothing changed", why);
            } else {
                s = update_apply(out);
            }
            break;
        case UpdateStep::Commit:
            step = "commit";
            s = update_commit(out);
            break;
        }
    }
    if (s != Status::Ok && out.message[0] == '\0')
        format(out.message, sizeof out.message, "%s", status_name(s));
    if (detail_[0] == '\0') // Apply's rollback wrote its own
        format(detail_, sizeof detail_, "update %s: %s", step, status_name(s));
    memcpy(reply, &out, sizeof out);
    return s;
}

// Every vCPU parked: the record of what the incoming image would adopt (docs/handover.md
// §2), written and then checked with the parser the incoming image runs.
Status Service::write_handover(u64* bytes, bool rollback) {
    const UpdateSetup& u = update_.setup;
    if (rollback && u.outgoing == nullptr) return Status::BadState;
    // Forward, the version this image writes (the incoming image's note was checked to read
    // it: Expect::handover_written); a rollback, the version the image it enters wrote itself.
    update::HandoverWriter w(u.record, static_cast<usize>(u.record_size), update_.counter + 1,
                             rollback ? u.outgoing_abi : u.expect.handover_written);
    update::OldImageRecord img{};
    u.swap->image_span(&img.base, &img.span, &img.entry);
    img.update_region = reinterpret_cast<uptr>(u.region);
    img.update_region_size = u.region_size;
    img.security_floor = u.expect.policy.security_floor;
    // A rollback (§4.7) enters the image this one replaced: its own version, no floor raised.
    img.incoming_security_version =
        rollback ? u.outgoing->security_version : update_.security_version;
    img.flags = rollback ? update::kOldImageRollback : 0;
    memcpy(img.version, update::keel_image_note.version, sizeof img.version);
    img.dtb = u.swap->device_tree();
    if (u.cmdline != nullptr) // cut to the field, NUL-terminated (img is zeroed)
        for (usize i = 0; i + 1 < sizeof img.cmdline && u.cmdline[i] != '\0'; ++i)
            img.cmdline[i] = u.cmdline[i];
    u.swap->describe_image(img);
    // The incoming image's entropy comes from this one's seed besides its own sources
    // (docs/handover.md §2.2 OldImage): its nonces and offers never repeat this image's.
    Status added_img = Status::Ok;
    const Status e = sessions_.handover_entropy(update_.counter + 1, img.entropy);
    if (e == Status::Ok) added_img = w.add(update::RecordType::OldImage, img);
    memset(img.entropy, 0, sizeof img.entropy); // only in the record from here
    KEEL_TRY(e);
    KEEL_TRY(added_img);
    KEEL_TRY(u.swap->describe(w));
    for (u32 id = 1; id <= kMaxVms; ++id) {
        if (state(id) == VmLifeState::Free) continue;
        static update::ConsoleRecord c; // 5 KiB: off the boot core's stack
        console_.describe(id, c);
        KEEL_TRY(w.add(update::RecordType::Console, c));
        KEEL_TRY(w.add(update::RecordType::MailboxVm, mailbox_vm_record(id)));
    }
    update::MailboxRecord m{};
    m.region_base = region_.address();
    m.region_size = region_.size();
    memcpy(m.boot_nonce, nonce_, sizeof m.boot_nonce);
    m.cmd_cons = cmd_cons_;
    m.resp_prod = resp_prod_;
    m.log_prod = audit_.prod();
    m.unlogged = audit_.unlogged();
    SessionHandover sh;
    sessions_.export_session(sh);
    for_each_session_field(m, sh, [](auto& rec, const auto& s) { rec = s; });
    static_assert(sizeof sh.keys == sizeof m.session_keys, "docs/handover.md §2.2 Mailbox");
    memcpy(m.session_keys, &sh.keys, sizeof m.session_keys);
    memset(&sh.keys, 0, sizeof sh.keys);
    m.audit_next_index = audit_.next_index();
    memcpy(m.audit_head, audit_.head(), sizeof m.audit_head);
    const Status added = w.add(update::RecordType::Mailbox, m);
    memset(m.session_keys, 0, sizeof m.session_keys); // only in the record from here
    KEEL_TRY(added);
    Result<u64> n = w.seal();
    if (!n.ok()) return n.status();
    // The parse the incoming image makes, every rule of §2.3, but not the SHA-256 seal()
    // just computed over these bytes: hashing inside the blackout once here, once there.
    static update::HandoverView view;
    KEEL_TRY(update::parse_handover(u.record, static_cast<usize>(n.value()), w.abi(), w.abi(), view,
                                    update::Digest::Trusted));
    *bytes = n.value();
    return Status::Ok;
}

namespace {

// Why the incoming image handed back, in words (the answer and the audit record, docs/
// handover.md §4.3, §4.6).
const char* hand_back_why(update::HandBackReason r) {
    switch (r) {
    case update::HandBackReason::AdoptionNotBuilt: return "no adoption";
    case update::HandBackReason::RecordRefused: return "record refused";
    case update::HandBackReason::AdoptionRefused: return "adoption refused";
    case update::HandBackReason::HealthCheck: return "health check failed";
    case update::HandBackReason::CoresMissing: return "cores missing";
    case update::HandBackReason::None: return "not entered";
    }
    return "unknown reason";
}

} // namespace

// Apply (docs/handover.md §4): place the verified image in the run slot, quiesce, write and
// check the record, enter the new image. An image that adopts everything stays: enter()
// never returns and the new image answers this Apply (Service::adopt). One that hands back
// is the rollback: every vCPU resumes on the image that parked it, with the state it left,
// and the answer says why.
Status Service::update_apply(UpdateReply& out) {
    update::Swap& swap = *update_.setup.swap;
    u8* slot = nullptr;
    u64 slot_size = 0;
    swap.run_slot(&slot, &slot_size);
    if (slot == nullptr) {
        format(out.message, sizeof out.message, "no run slot for the new image: nothing changed");
        return Status::Unsupported;
    }
    // Before the quiesce: the guests run on while the image is laid out and hashed again.
    static update::Placement place; // off the boot core's stack
    const Ticks p0 = ticks_now();
    const Status p =
        update::place_image(update_.setup.region, update_.size, slot, slot_size, place);
    kprint("update: timing: placed in %u ns\n", ticks_ns(p0, ticks_now()));
    if (p != Status::Ok) {
        format(out.message, sizeof out.message, "%s: nothing changed", place.message);
        kprint("update: apply: %s\n", out.message);
        return p;
    }
    const Ticks t0 = ticks_now();
    u32 parked = 0;
    if (swap.quiesce(kQuiesceMs, &parked) != Status::Ok) {
        format(out.message, sizeof out.message,
               "not every vCPU parked within %u ms: all resumed, nothing changed", kQuiesceMs);
        return Status::Timeout;
    }
    u64 bytes = 0;
    const Status rec = write_handover(&bytes);
    update::HandBack hb;
    if (rec == Status::Ok) hb = swap.enter(place.entry_offset, update_.setup.record, bytes);
    swap.resume();
    const u32 blackout_ns = ticks_ns(t0, ticks_now()); // quiesce request to every vCPU let go
    // Rolled back: the record (the session keys among it) is wiped, outside the blackout.
    memset(update_.setup.record, 0, static_cast<usize>(update_.setup.record_size));
    if (rec != Status::Ok) {
        format(out.message, sizeof out.message, "handover record: %s; all resumed, nothing changed",
               status_name(rec));
        kprint("update: %s\n", out.message);
        return rec;
    }
    // The audit record says it was a rollback and why (docs/handover.md §4 step 6).
    const char* why = hand_back_why(hb.reason);
    if (hb.reason == update::HandBackReason::RecordRefused)
        format(detail_, sizeof detail_, "update rolled back: record %s", status_name(hb.status));
    else
        format(detail_, sizeof detail_, "update rolled back: %s", why);
    char what[64];
    if (hb.reason == update::HandBackReason::None)
        format(what, sizeof what, "not entered");
    else if (hb.reason == update::HandBackReason::RecordRefused)
        format(what, sizeof what, "entered, record refused (%s)", status_name(hb.status));
    else
        format(what, sizeof what, "handed back (%s)", why);
    memcpy(out.version, update_.version, sizeof out.version);
    format(out.message, sizeof out.message, "%u vCPUs parked, record %llu B; %s; resumed in %u ns",
           parked, static_cast<unsigned long long>(bytes), what, blackout_ns);
    kprint("update: apply: %s\n", out.message);
    return Status::Unsupported;
}

void Service::begin_trial(u64 ms, CommitFn commit) {
    trial_.commit = commit;
    trial_.ms = ms;
    trial_.deadline_ms = backend_ != nullptr ? backend_->now_ms() + ms : 0;
}

// UPDATE Commit (§4.7): the controller's word that the image an Apply left running stays.
Status Service::update_commit(UpdateReply& out) {
    if (trial_.commit == nullptr) {
        format(out.message, sizeof out.message, "no update awaits a commit");
        return Status::BadState;
    }
    const CommitFn commit = trial_.commit;
    trial_ = Trial{};
    char what[64] = {};
    const Status s = commit(what, sizeof what);
    format(out.message, sizeof out.message, "%s", what);
    return s;
}

// The trial's deadline passed without a Commit (§4.7): the outgoing image, put back as it
// was loaded, is entered with a record of everything as it is now, and stays. Returns only
// when it could not be: this image runs on, not committed, and Commit is still accepted.
void Service::roll_back_update() {
    update::Swap* swap = update_.setup.swap;
    const update::OldImageRecord* old = update_.setup.outgoing;
    trial_.deadline_ms = ~0ull; // once, whatever happens below
    Status s = swap == nullptr || old == nullptr || update_.setup.record == nullptr
                   ? Status::BadState
                   : swap->restore_outgoing();
    u32 parked = 0;
    const Ticks t0 = ticks_now();
    if (s == Status::Ok && swap->quiesce(kQuiesceMs, &parked) != Status::Ok) {
        trial_.deadline_ms = backend_->now_ms() + 1000; // a vCPU did not park: again later
        kprint("update: rollback: not every vCPU parked within %u ms; again in 1 s\n", kQuiesceMs);
        return;
    }
    char line[40];
    if (s == Status::Ok) {
        // In the chain before the record is written: the image entered goes on after it.
        format(line, sizeof line, "update rolled back: no commit in time");
        audit_.append(AuditKind::Boot, backend_->now_ms(), 0, static_cast<u32>(Opcode::Update),
                      Status::Timeout, 0, line);
        kprint("update: no Commit within %llu ms: rolling back to Keel %s (%u vCPUs parked)\n",
               static_cast<unsigned long long>(trial_.ms), old->version, parked);
        u64 bytes = 0;
        s = write_handover(&bytes, true);
        update::HandBack hb;
        if (s == Status::Ok) hb = swap->enter_outgoing(update_.setup.record, bytes);
        swap->resume();
        memset(update_.setup.record, 0, static_cast<usize>(update_.setup.record_size));
        if (s == Status::Ok)
            s = hb.reason == update::HandBackReason::RecordRefused ? hb.status
                                                                   : Status::Unsupported;
        kprint("update: rollback: %s (%s), resumed in %u ns\n",
               hb.reason == update::HandBackReason::None ? "not entered" : "handed back",
               hand_back_why(hb.reason), ticks_ns(t0, ticks_now()));
    }
    format(line, sizeof line, "update not rolled back: %s", status_name(s));
    audit_.append(AuditKind::Boot, backend_->now_ms(), 0, static_cast<u32>(Opcode::Update), s, 0,
                  line);
    kprint("update: %s: this image runs on, not committed (Commit is still accepted)\n", line);
}

} // namespace keel::mailbox
