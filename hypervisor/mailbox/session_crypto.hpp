// The mailbox session's cryptography as both ends compute it (docs/mailbox.md §4.2): the
// HELLO transcript the controller signs, the key schedule, and the MACs on commands,
// responses and audit records. Pure functions over crypto/: the hypervisor's
// SessionManager and the controller (keelctl, the unit tests, the fuzzer) share them, so
// the two sides cannot drift apart; the known-answer tests pin them to values computed
// independently (tests/unit/mailbox_session_kat_test.cpp, tests/data/session_kat.py).
#pragma once

#include "crypto/hmac.hpp"
#include "crypto/sha2.hpp"
#include "crypto/x25519.hpp"
#include "hypervisor/mailbox/abi.hpp"
#include "hypervisor/status.hpp"

namespace keel::mailbox {

// Directional keys of one session: controller -> Keel commands, Keel -> controller
// responses, and Keel's audit records.
struct SessionKeys {
    u8 cmd[32];
    u8 rsp[32];
    u8 log[32];
};
constexpr usize kRecordMacSize = 16; // HMAC-SHA256 truncated to 128 bits (RFC 2104 §5)

// The bytes the controller signs (§4.2), from the published offer and its own key.
void hello_transcript(const u8 (&boot_nonce)[16], const SessionArea& offer,
                      const u8 (&ctl_pub)[crypto::kX25519Size], HelloTranscript& out);
// SHA-384 of the transcript: the digest the ECDSA P-384 signature is over.
void hello_digest(const HelloTranscript& t, u8 (&out)[crypto::kSha384Size]);
// HKDF-SHA256: salt = offer_nonce, IKM = the X25519 shared secret,
// info = "keel session v2" || SHA-256(transcript); 96 bytes = cmd || rsp || log.
[[nodiscard]] Status session_keys(const u8 (&shared)[crypto::kX25519Size], const HelloTranscript& t,
                                  SessionKeys& out);

// The three keys with their HMAC key schedules done (what the hypervisor keeps per
// session: each MAC then costs the message's compressions plus two).
struct SessionMacKeys {
    crypto::HmacSha256Key cmd, rsp, log;
    void set(const SessionKeys& k);
    void clear();
};

// MACs. mac_* fill the slot's own mac field; check_* recompute and compare in constant
// time (Ok or AuthFailed). The raw-key forms do the key schedule each call (controller).
[[nodiscard]] Status mac_command(const crypto::HmacSha256Key& key, CommandSlot& s);
[[nodiscard]] Status check_command(const crypto::HmacSha256Key& key, const CommandSlot& s);
[[nodiscard]] Status mac_response(const crypto::HmacSha256Key& key, ResponseSlot& r);
[[nodiscard]] Status check_response(const crypto::HmacSha256Key& key, const ResponseSlot& r);
[[nodiscard]] Status mac_record(const crypto::HmacSha256Key& key, AuditRecord& r);
[[nodiscard]] Status check_record(const crypto::HmacSha256Key& key, const AuditRecord& r);
[[nodiscard]] Status mac_command(const u8 (&key)[32], CommandSlot& s);
[[nodiscard]] Status check_command(const u8 (&key)[32], const CommandSlot& s);
[[nodiscard]] Status mac_response(const u8 (&key)[32], ResponseSlot& r);
[[nodiscard]] Status check_response(const u8 (&key)[32], const ResponseSlot& r);
[[nodiscard]] Status mac_record(const u8 (&key)[32], AuditRecord& r);
[[nodiscard]] Status check_record(const u8 (&key)[32], const AuditRecord& r);

} // namespace keel::mailbox
