// Rejected commands (docs/mailbox.md §4.4): each is answered (without a MAC) and counted
// in a burst, and one audit record summarizes the burst, so junk at full speed costs a
// compare or an HMAC each and at most one log record a second, and never crowds out the
// log room a state-changing command needs.
#include "hypervisor/mailbox/service.hpp"
#include "hypervisor/print.hpp"

namespace keel::mailbox {

void Service::reject(u64 seq, u16 op, Status s, bool authenticated) {
    ++rejected_;
    Burst& b = burst_;
    if (b.count == 0) b.first_ms = backend_->now_ms();
    ++b.count;
    b.grew = true;
    b.last_seq = seq, b.last_op = op, b.last = s;
    if (s == Status::Expired)
        ++b.session;
    else if (s == Status::Replayed)
        ++b.sequence;
    else if (s == Status::AuthFailed || s == Status::BadSignature)
        ++b.mac;
    else if (s == Status::InvalidArgument || s == Status::OutOfRange || s == Status::Unsupported)
        ++b.malformed;
    else
        ++b.other;
    const u8 none[kRespPayloadMax] = {};
    respond(seq, op, s, none, authenticated);
}

void Service::flush_rejects(bool force) {
    Burst& b = burst_;
    if (b.count == 0) return;
    // A burst is summarized when it ends (a poll without new rejections), when a command
    // is accepted, or once a second while it goes on: junk costs at most one record a
    // second, and every rejected command is counted in one (never silently dropped).
    const bool grew = b.grew;
    b.grew = false;
    if (!force && grew && backend_->now_ms() - b.first_ms < kBurstFlushMs) return;
    if (audit_.free_slots() == 0) return; // stays pending, still counting, until there is room
    char detail[40];
    format(detail, sizeof detail, "rej ses %u seq %u mac %u bad %u oth %u", b.session, b.sequence,
           b.mac, b.malformed, b.other);
    if (audit_.append(AuditKind::Rejects, backend_->now_ms(), b.last_seq, b.last_op, b.last,
                      b.count, detail))
        b = Burst{};
}

} // namespace keel::mailbox
