// Keel's side of the mailbox session (docs/mailbox.md §4.2). Keel always has one offer
// published (an ephemeral X25519 key and a fresh nonce under a new session id); a HELLO
// answering it with the controller's ephemeral key, signed by the controller key inside
// Keel's image, is verified once (ECDSA P-384) and turns the offer into the active
// session, whose keys MAC every later command, response and audit record; the next offer
// is made at once, so the controller can renew whenever it likes. A session ends after
// max_commands commands or max_age_ms; the sequence floor is per boot, so no session
// ever accepts a sequence number an earlier one saw. All checks run cheapest first.
#pragma once

#include "crypto/ecdsa.hpp"
#include "hypervisor/entropy/seed.hpp"
#include "hypervisor/mailbox/session_crypto.hpp"
#include "hypervisor/mailbox/shared.hpp"

namespace keel::mailbox {

// After a HELLO fails its signature, the next HELLO verify waits this long (others answer
// Busy at the cost of a compare): a flood of signed-looking junk costs at most ten P-384
// verifies a second (docs/mailbox.md §4.4).
constexpr u64 kHelloBackoffMs = 100;

struct SessionLimits {
    u32 max_commands = 1u << 20;
    u32 max_age_ms = 24u * 3600u * 1000u;
};

// What a live update hands the incoming image so the controller's session continues
// (docs/handover.md §2.2 Mailbox): the active session's id, keys, use count and start, the
// sequence floor, and the offer id published. Secret (the keys).
struct SessionHandover {
    u32 active_id = 0; // 0: no session yet (only the floor and the offer id matter)
    u32 offer_id = 0;
    u32 used = 0;
    u64 established_ms = 0; // on the counter both images read (arch ticks, never reset)
    u64 last_seq = 0;
    SessionKeys keys{};
};

// The handover record's Mailbox session fields (docs/handover.md §2.2) paired with a
// SessionHandover's, one list for both directions: f(record field, handover field) for each
// (the keys, an array, are copied by the caller).
template <class Record, class Handover, class F>
void for_each_session_field(Record& m, Handover& h, F&& f) {
    f(m.active_session, h.active_id);
    f(m.offer_id, h.offer_id);
    f(m.session_used, h.used);
    f(m.seq_floor, h.last_seq);
    f(m.session_established_ms, h.established_ms);
}

class SessionManager {
public:
    // `pubkey` all zero: no controller key, nothing ever establishes. Makes offer 1;
    // NotFound when the seed has no source (never happens after a successful derive).
    [[nodiscard]] Status init(const u8 (&pubkey)[crypto::kP384PublicKeySize],
                              const entropy::Seed& seed, const u8 (&boot_nonce)[16],
                              SessionLimits limits);
    [[nodiscard]] bool has_key() const { return has_key_; }

    // Writes the SessionArea (offer, active session, floor, limits) into the region.
    void publish(SharedRegion& region) const;

    // A decoded HELLO (slot already structurally checked). Ok: the offer became the
    // active session and a new offer was made. Expired (not the current offer),
    // AuthFailed (no key), Busy (within kHelloBackoffMs of a failed verify), BadSignature,
    // InvalidArgument (a low-order X25519 point), NoMemory.
    [[nodiscard]] Status hello(const CommandSlot& slot, const HelloPayload& p, u64 now_ms);
    // Any other command, cheapest first: Expired (no such session, or it ended by count
    // or age), Replayed (sequence at or below the floor), AuthFailed (the MAC). Ok
    // consumes the sequence number and counts the command against the session.
    [[nodiscard]] Status check(const CommandSlot& slot, u64 now_ms);
    // Whether `slot` got past check(): its answer is MACed (seal_response).
    void seal_response(ResponseSlot& r) const;
    // Audit records carry the log key's MAC from the first session on (audit.hpp).
    [[nodiscard]] const crypto::HmacSha256Key* log_key() const {
        return active_id_ != 0 ? &macs_.log : nullptr;
    }

    // Live update: the outgoing image's side (the keys are secrets: the caller wipes `out`).
    void export_session(SessionHandover& out) const;
    // The incoming image, after init(): continues the recorded session (same keys, count,
    // start and sequence floor), then offers the next id with its own seed (the recorded
    // offer's private key is not handed over: a HELLO to it answers Expired). InvalidArgument
    // when the record is inconsistent (an offer not after the session, no offer).
    [[nodiscard]] Status adopt_session(const SessionHandover& in);
    // Live update: 32 bytes for the incoming image's seed (docs/handover.md §2.2 OldImage),
    // a labelled expansion of this image's seed for update `counter`, never a value this
    // image uses itself.
    [[nodiscard]] Status handover_entropy(u64 counter, u8 (&out)[32]) const {
        return entropy::expand(seed_, "keel handover entropy", counter, out, sizeof out);
    }

    [[nodiscard]] u64 last_seq() const { return last_seq_; }
    [[nodiscard]] u32 active_id() const { return active_id_; }
    [[nodiscard]] u32 offer_id() const { return offer_.offer_id; }

private:
    [[nodiscard]] Status make_offer(u32 id);
    static int blinding(void* self, unsigned char* out, size_t len);

    entropy::Seed seed_{};
    u8 pubkey_[crypto::kP384PublicKeySize] = {};
    u8 boot_nonce_[16] = {};
    bool has_key_ = false;
    SessionLimits limits_{};
    SessionArea offer_{}; // what publish() writes; keel_pub/offer_nonce of the offer
    u8 offer_priv_[crypto::kX25519Size] = {};
    u32 active_id_ = 0;
    SessionMacKeys macs_; // the active session's keys, HMAC schedules done
    SessionKeys keys_{};  // the same, raw: only for a live update's handover
    u64 established_ms_ = 0;
    u32 used_ = 0;
    u64 last_seq_ = 0;
    u64 blind_counter_ = 0;
    u64 hello_open_ms_ = 0; // no HELLO verify before this time (backoff after a failure)
};

} // namespace keel::mailbox
