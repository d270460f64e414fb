#include "hypervisor/mailbox/session.hpp"

#include <string.h>

namespace keel::mailbox {

int SessionManager::blinding(void* self, unsigned char* out, size_t len) {
    auto* m = static_cast<SessionManager*>(self);
    return entropy::expand(m->seed_, "keel ecp blinding", m->blind_counter_++, out, len) ==
                   Status::Ok
               ? 0
               : -1;
}

Status SessionManager::init(const u8 (&pubkey)[crypto::kP384PublicKeySize],
                            const entropy::Seed& seed, const u8 (&boot_nonce)[16],
                            SessionLimits limits) {
    seed_ = seed;
    memcpy(pubkey_, pubkey, sizeof pubkey_);
    memcpy(boot_nonce_, boot_nonce, sizeof boot_nonce_);
    has_key_ = pubkey_[0] == 0x04; // SEC1 uncompressed; the verifier checks the point itself
    limits_ = limits;
    active_id_ = 0;
    used_ = 0;
    last_seq_ = 0;
    hello_open_ms_ = 0;
    macs_.clear();
    memset(&keys_, 0, sizeof keys_);
    offer_ = SessionArea{};
    offer_.boot_counter = seed.boot_counter;
    return make_offer(1);
}

Status SessionManager::make_offer(u32 id) {
    // The ephemeral key and the offer nonce are labelled expansions of this boot's seed
    // under the session id: never the same twice in a boot, unpredictable across boots.
    KEEL_TRY(entropy::expand(seed_, "keel x25519 ephemeral", id, offer_priv_, sizeof offer_priv_));
    KEEL_TRY(entropy::expand(seed_, "keel offer nonce", id, offer_.offer_nonce,
                             sizeof offer_.offer_nonce));
    KEEL_TRY(crypto::x25519_public(offer_priv_, offer_.keel_pub, blinding, this));
    offer_.offer_id = id;
    return Status::Ok;
}

void SessionManager::publish(SharedRegion& region) const {
    SessionArea a = offer_;
    a.active_id = active_id_;
    a.seq_floor = last_seq_;
    a.max_commands = limits_.max_commands;
    a.max_age_ms = limits_.max_age_ms;
    a.used = used_;
    // offer_id last, after a release barrier: a reader never pairs an id with another
    // offer's key (§4.2).
    const u32 id = a.offer_id;
    a.offer_id = 0;
    (void)region.copy_out(kSessionOffset + 4, reinterpret_cast<const u8*>(&a) + 4, sizeof a - 4);
    barrier_release();
    region.write32(kSessionOffset, id);
}

Status SessionManager::hello(const CommandSlot& slot, const HelloPayload& p, u64 now_ms) {
    if (!has_key_) return Status::AuthFailed;
    if (p.offer_id != offer_.offer_id) return Status::Expired; // cheap: a stale or foreign offer
    if (slot.seq <= last_seq_) return Status::Replayed;
    if (now_ms < hello_open_ms_) return Status::Busy;
    HelloTranscript t;
    hello_transcript(boot_nonce_, offer_, p.ctl_pub, t);
    u8 digest[crypto::kSha384Size];
    hello_digest(t, digest);
    Status s = crypto::ecdsa_p384_verify(pubkey_, digest, sizeof digest, p.signature);
    if (s != Status::Ok) {
        hello_open_ms_ = now_ms + kHelloBackoffMs;
        return s == Status::NoMemory ? Status::NoMemory : Status::BadSignature;
    }
    u8 shared[crypto::kX25519Size];
    s = crypto::x25519_shared(offer_priv_, p.ctl_pub, shared, blinding, this);
    SessionKeys k{};
    if (s == Status::Ok) s = session_keys(shared, t, k);
    memset(shared, 0, sizeof shared);
    if (s != Status::Ok) return s;
    // The offer is spent: its private key goes, the session takes over, a new offer waits.
    macs_.set(k);
    keys_ = k;
    memset(&k, 0, sizeof k);
    active_id_ = offer_.offer_id;
    established_ms_ = now_ms;
    used_ = 0;
    last_seq_ = slot.seq;
    memset(offer_priv_, 0, sizeof offer_priv_);
    return make_offer(active_id_ + 1);
}

Status SessionManager::check(const CommandSlot& slot, u64 now_ms) {
    if (active_id_ == 0 || slot.session_id != active_id_) return Status::Expired;
    if (used_ >= limits_.max_commands || now_ms - established_ms_ >= limits_.max_age_ms)
        return Status::Expired;
    if (slot.seq <= last_seq_) return Status::Replayed;
    KEEL_TRY(check_command(macs_.cmd, slot));
    last_seq_ = slot.seq;
    ++used_;
    return Status::Ok;
}

void SessionManager::export_session(SessionHandover& out) const {
    out.active_id = active_id_;
    out.offer_id = offer_.offer_id;
    out.used = used_;
    out.established_ms = established_ms_;
    out.last_seq = last_seq_;
    out.keys = keys_;
}

Status SessionManager::adopt_session(const SessionHandover& in) {
    if (in.offer_id == 0 || in.offer_id <= in.active_id) return Status::InvalidArgument;
    active_id_ = in.active_id;
    used_ = in.used;
    established_ms_ = in.established_ms;
    last_seq_ = in.last_seq;
    keys_ = in.keys;
    if (active_id_ != 0)
        macs_.set(keys_);
    else
        macs_.clear();
    memset(offer_priv_, 0, sizeof offer_priv_);
    return make_offer(in.offer_id + 1);
}

void SessionManager::seal_response(ResponseSlot& r) const {
    r.session_id = active_id_;
    if (active_id_ == 0 || mac_response(macs_.rsp, r) != Status::Ok) {
        r.session_id = 0;
        memset(r.mac, 0, sizeof r.mac);
    }
}

} // namespace keel::mailbox
