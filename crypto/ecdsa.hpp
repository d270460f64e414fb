// ECDSA signature verification (FIPS 186-5 §6.4.2) on NIST P-384 and P-256.
//
// Keys are uncompressed SEC1 points (SEC 1 v2 §2.3.3): 0x04 || X || Y, coordinates
// big-endian and as wide as the field. Signatures are raw r || s, each as wide as
// the group order, big-endian (not DER). The digest is the caller's hash of the
// message; digests longer than the order are truncated as FIPS 186-5 says.
//
// Results: Ok; BadSignature when the signature does not match (or r/s is out of
// range); InvalidArgument for a null pointer, an empty digest, or a key that is not
// an uncompressed point on the curve; NoMemory when the crypto arena is exhausted.
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::crypto {

constexpr usize kP384PublicKeySize = 97;
constexpr usize kP384SignatureSize = 96;
constexpr usize kP256PublicKeySize = 65;
constexpr usize kP256SignatureSize = 64;

[[nodiscard]] Status ecdsa_p384_verify(const u8* pubkey, const u8* digest, usize digest_len,
                                       const u8* sig);
[[nodiscard]] Status ecdsa_p256_verify(const u8* pubkey, const u8* digest, usize digest_len,
                                       const u8* sig);

} // namespace keel::crypto
