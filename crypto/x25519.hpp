// X25519 (RFC 7748 §5, §6.1) over mbedTLS's Curve25519: the mailbox session's ephemeral
// key agreement (docs/mailbox.md §4.2). Keys and points are the RFC's 32-byte
// little-endian strings; private keys are clamped as §5 says (mbedtls_ecp_read_key).
//
// `rng` feeds mbedTLS's coordinate blinding (a side-channel counter-measure, not key
// material); mbedTLS 3.6 requires one. Results: Ok; InvalidArgument for a null pointer
// or, from x25519_shared, an all-zero shared secret (a low-order peer point, §6.1);
// NoMemory when the crypto arena is exhausted.
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::crypto {

constexpr usize kX25519Size = 32;

// mbedTLS's f_rng shape: fills out[0..len), returns 0 on success.
using RandomFn = int (*)(void* ctx, unsigned char* out, size_t len);

[[nodiscard]] Status x25519_public(const u8 (&priv)[kX25519Size], u8 (&pub)[kX25519Size],
                                   RandomFn rng, void* rng_ctx);
[[nodiscard]] Status x25519_shared(const u8 (&priv)[kX25519Size], const u8 (&peer)[kX25519Size],
                                   u8 (&shared)[kX25519Size], RandomFn rng, void* rng_ctx);

} // namespace keel::crypto
