// HMAC-SHA256 (RFC 2104) and HKDF-SHA256 (RFC 5869), for the mailbox's message
// authentication and key derivation. Both borrow a few hundred bytes from the crypto
// arena while they run, so both can report NoMemory.
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::crypto {

constexpr usize kHmacSha256Size = 32;
constexpr usize kHkdfSha256MaxOutput = 255 * 32; // RFC 5869 §2.3

[[nodiscard]] Status hmac_sha256(const void* key, usize key_len, const void* msg, usize msg_len,
                                 u8 (&out)[kHmacSha256Size]);

// Recomputes the tag and compares it in constant time: Ok or AuthFailed.
[[nodiscard]] Status hmac_sha256_verify(const void* key, usize key_len, const void* msg,
                                        usize msg_len, const u8 (&tag)[kHmacSha256Size]);

// HMAC-SHA256 with the key schedule done once (RFC 2104 §4: the inner and outer hash
// states after the padded key are kept), for a key that MACs many messages: the mailbox
// session's. Allocation-free, so it cannot fail; a key longer than 64 bytes is hashed
// first, as RFC 2104 §2 says.
class HmacSha256Key {
public:
    HmacSha256Key() = default;
    ~HmacSha256Key() { clear(); }
    HmacSha256Key(const HmacSha256Key&) = delete;
    HmacSha256Key& operator=(const HmacSha256Key&) = delete;

    void set(const void* key, usize len);
    void clear(); // zeroes both states
    // An explicit copy (both states), for a holder that must keep a key while its source
    // changes; copying is otherwise disabled so key material is not duplicated by accident.
    void copy_from(const HmacSha256Key& other);
    [[nodiscard]] bool ready() const { return ready_; }
    // Ok, or InvalidArgument when no key was set.
    [[nodiscard]] Status mac(const void* msg, usize len, u8 (&out)[kHmacSha256Size]) const;

private:
    alignas(8) u8 inner_[112] = {}; // mbedtls_sha256_context after ipad, size checked in hmac.cpp
    alignas(8) u8 outer_[112] = {}; // ...after opad
    bool ready_ = false;
};

// Extract-then-expand into okm[0..okm_len). salt may be null (RFC 5869 §2.2: zeros).
[[nodiscard]] Status hkdf_sha256(const void* salt, usize salt_len, const void* ikm, usize ikm_len,
                                 const void* info, usize info_len, u8* okm, usize okm_len);

} // namespace keel::crypto
