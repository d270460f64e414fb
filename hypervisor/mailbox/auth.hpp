// Command authentication (docs/mailbox.md §4): ECDSA P-384 over SHA-384 of the slot's
// signed bytes, with the controller public key that came inside Keel's own image, the
// command bound to this boot's nonce and to a sequence number strictly above the last
// accepted one. Checks run cheapest first (nonce, sequence, then the signature), so a
// flood of stale or foreign commands costs a compare each, not a verify each.
#pragma once

#include "crypto/ecdsa.hpp"
#include "hypervisor/mailbox/abi.hpp"
#include "hypervisor/status.hpp"

namespace keel::mailbox {

class Authenticator {
public:
    // `pubkey` all zero means "no controller key in this image": nothing authenticates.
    void init(const u8 (&pubkey)[crypto::kP384PublicKeySize], const u8 (&nonce)[16]);

    // Ok (and the sequence number is consumed), or AuthFailed (no key, wrong nonce),
    // Replayed (sequence not above the last accepted), BadSignature.
    [[nodiscard]] Status check(const CommandSlot& slot);
    [[nodiscard]] u64 last_seq() const { return last_seq_; }
    [[nodiscard]] bool has_key() const { return has_key_; }

private:
    u8 pubkey_[crypto::kP384PublicKeySize] = {};
    u8 nonce_[16] = {};
    u64 last_seq_ = 0;
    bool has_key_ = false;
};

} // namespace keel::mailbox
