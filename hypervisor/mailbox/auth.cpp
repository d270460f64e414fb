#include "hypervisor/mailbox/auth.hpp"

#include <string.h>

#include "crypto/sha2.hpp"

namespace keel::mailbox {

void Authenticator::init(const u8 (&pubkey)[crypto::kP384PublicKeySize], const u8 (&nonce)[16]) {
    memcpy(pubkey_, pubkey, sizeof pubkey_);
    memcpy(nonce_, nonce, sizeof nonce_);
    last_seq_ = 0;
    has_key_ = pubkey_[0] == 0x04; // SEC1 uncompressed; the verifier checks the point itself
}

Status Authenticator::check(const CommandSlot& slot) {
    if (!has_key_) return Status::AuthFailed;
    if (memcmp(slot.nonce, nonce_, sizeof nonce_) != 0) return Status::AuthFailed;
    if (slot.seq <= last_seq_) return Status::Replayed;
    u8 digest[crypto::kSha384Size];
    crypto::sha384(&slot, kSignedBytes, digest);
    Status s = crypto::ecdsa_p384_verify(pubkey_, digest, sizeof digest, slot.signature);
    if (s != Status::Ok) return s == Status::NoMemory ? Status::NoMemory : Status::BadSignature;
    last_seq_ = slot.seq;
    return Status::Ok;
}

} // namespace keel::mailbox
