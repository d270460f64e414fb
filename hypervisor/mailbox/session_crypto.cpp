#include "hypervisor/mailbox/session_crypto.hpp"

#include <string.h>

#include "crypto/hmac.hpp"

namespace keel::mailbox {
namespace {

constexpr char kHelloLabel[] = "KEEL-HELLO-V2";
constexpr char kKeyLabel[] = "keel session v2";

// Constant-time comparison of the first n bytes.
bool same(const u8* a, const u8* b, usize n) {
    u8 acc = 0;
    for (usize i = 0; i < n; ++i)
        acc = static_cast<u8>(acc | (a[i] ^ b[i]));
    return acc == 0;
}

Status check(const crypto::HmacSha256Key& key, const void* msg, usize len, const u8* tag,
             usize tag_len) {
    u8 mac[crypto::kHmacSha256Size];
    KEEL_TRY(key.mac(msg, len, mac));
    const bool ok = same(mac, tag, tag_len);
    memset(mac, 0, sizeof mac);
    return ok ? Status::Ok : Status::AuthFailed;
}

// A key schedule for one call (the controller's side).
struct OneKey {
    crypto::HmacSha256Key k;
    explicit OneKey(const u8 (&key)[32]) { k.set(key, sizeof key); }
};

} // namespace

void hello_transcript(const u8 (&boot_nonce)[16], const SessionArea& offer,
                      const u8 (&ctl_pub)[crypto::kX25519Size], HelloTranscript& out) {
    out = HelloTranscript{};
    memcpy(out.label, kHelloLabel, sizeof kHelloLabel - 1);
    memcpy(out.boot_nonce, boot_nonce, sizeof out.boot_nonce);
    out.boot_counter = offer.boot_counter;
    out.offer_id = offer.offer_id;
    memcpy(out.offer_nonce, offer.offer_nonce, sizeof out.offer_nonce);
    memcpy(out.keel_pub, offer.keel_pub, sizeof out.keel_pub);
    memcpy(out.ctl_pub, ctl_pub, sizeof out.ctl_pub);
}

void hello_digest(const HelloTranscript& t, u8 (&out)[crypto::kSha384Size]) {
    crypto::sha384(&t, sizeof t, out);
}

Status session_keys(const u8 (&shared)[crypto::kX25519Size], const HelloTranscript& t,
                    SessionKeys& out) {
    u8 info[sizeof kKeyLabel - 1 + crypto::kSha256Size];
    memcpy(info, kKeyLabel, sizeof kKeyLabel - 1);
    u8 th[crypto::kSha256Size];
    crypto::sha256(&t, sizeof t, th);
    memcpy(info + sizeof kKeyLabel - 1, th, sizeof th);
    static_assert(sizeof(SessionKeys) == 96);
    return crypto::hkdf_sha256(t.offer_nonce, sizeof t.offer_nonce, shared, sizeof shared, info,
                               sizeof info, reinterpret_cast<u8*>(&out), sizeof out);
}

void SessionMacKeys::set(const SessionKeys& k) {
    cmd.set(k.cmd, sizeof k.cmd);
    rsp.set(k.rsp, sizeof k.rsp);
    log.set(k.log, sizeof k.log);
}

void SessionMacKeys::clear() {
    cmd.clear();
    rsp.clear();
    log.clear();
}

Status mac_command(const crypto::HmacSha256Key& key, CommandSlot& s) {
    return key.mac(&s, kMacBytes, s.mac);
}
Status check_command(const crypto::HmacSha256Key& key, const CommandSlot& s) {
    return check(key, &s, kMacBytes, s.mac, sizeof s.mac);
}
Status mac_response(const crypto::HmacSha256Key& key, ResponseSlot& r) {
    return key.mac(&r, kRespMacBytes, r.mac);
}
Status check_response(const crypto::HmacSha256Key& key, const ResponseSlot& r) {
    return check(key, &r, kRespMacBytes, r.mac, sizeof r.mac);
}
Status mac_record(const crypto::HmacSha256Key& key, AuditRecord& r) {
    u8 mac[crypto::kHmacSha256Size];
    KEEL_TRY(key.mac(&r, kRecordMacBytes, mac));
    memcpy(r.mac, mac, sizeof r.mac);
    return Status::Ok;
}
Status check_record(const crypto::HmacSha256Key& key, const AuditRecord& r) {
    return check(key, &r, kRecordMacBytes, r.mac, sizeof r.mac);
}

Status mac_command(const u8 (&key)[32], CommandSlot& s) { return mac_command(OneKey(key).k, s); }
Status check_command(const u8 (&key)[32], const CommandSlot& s) {
    return check_command(OneKey(key).k, s);
}
Status mac_response(const u8 (&key)[32], ResponseSlot& r) { return mac_response(OneKey(key).k, r); }
Status check_response(const u8 (&key)[32], const ResponseSlot& r) {
    return check_response(OneKey(key).k, r);
}
Status mac_record(const u8 (&key)[32], AuditRecord& r) { return mac_record(OneKey(key).k, r); }
Status check_record(const u8 (&key)[32], const AuditRecord& r) {
    return check_record(OneKey(key).k, r);
}

} // namespace keel::mailbox
