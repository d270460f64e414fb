// X25519 glue over mbedTLS's ECP module (Montgomery ladder); see x25519.hpp.
#include "crypto/x25519.hpp"

#include "crypto/arena.hpp"

#include <mbedtls/ecp.h>
#include <mbedtls/platform_util.h>

namespace keel::crypto {
namespace {

// Owns the mbedTLS objects of one operation so every exit path frees them.
struct X25519State {
    mbedtls_ecp_keypair key;
    mbedtls_ecp_point peer;
    mbedtls_ecp_point out;
    X25519State() {
        mbedtls_ecp_keypair_init(&key);
        mbedtls_ecp_point_init(&peer);
        mbedtls_ecp_point_init(&out);
    }
    ~X25519State() {
        mbedtls_ecp_point_free(&out);
        mbedtls_ecp_point_free(&peer);
        mbedtls_ecp_keypair_free(&key);
    }
    X25519State(const X25519State&) = delete;
    X25519State& operator=(const X25519State&) = delete;
};

Status from_mbedtls(int rc) {
    switch (rc) {
    case 0: return Status::Ok;
    case MBEDTLS_ERR_ECP_ALLOC_FAILED:
    case MBEDTLS_ERR_MPI_ALLOC_FAILED: return Status::NoMemory;
    default: return Status::InvalidArgument;
    }
}

// out = priv * point (point null: the base point), written as 32 LE bytes.
Status mul(const u8 (&priv)[kX25519Size], const u8* point, u8 (&out)[kX25519Size], RandomFn rng,
           void* ctx) {
    if (rng == nullptr) return Status::InvalidArgument;
    KEEL_TRY(init());
    X25519State st;
    int rc = mbedtls_ecp_read_key(MBEDTLS_ECP_DP_CURVE25519, &st.key, priv, kX25519Size);
    if (rc == 0 && point != nullptr)
        rc = mbedtls_ecp_point_read_binary(&st.key.MBEDTLS_PRIVATE(grp), &st.peer, point,
                                           kX25519Size);
    if (rc == 0)
        rc =
            mbedtls_ecp_mul(&st.key.MBEDTLS_PRIVATE(grp), &st.out, &st.key.MBEDTLS_PRIVATE(d),
                            point != nullptr ? &st.peer : &st.key.MBEDTLS_PRIVATE(grp).G, rng, ctx);
    size_t olen = 0;
    if (rc == 0)
        rc = mbedtls_ecp_point_write_binary(&st.key.MBEDTLS_PRIVATE(grp), &st.out,
                                            MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, out, kX25519Size);
    if (rc == 0 && olen != kX25519Size) rc = MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
    return from_mbedtls(rc);
}

} // namespace

Status x25519_public(const u8 (&priv)[kX25519Size], u8 (&pub)[kX25519Size], RandomFn rng,
                     void* rng_ctx) {
    return mul(priv, nullptr, pub, rng, rng_ctx);
}

Status x25519_shared(const u8 (&priv)[kX25519Size], const u8 (&peer)[kX25519Size],
                     u8 (&shared)[kX25519Size], RandomFn rng, void* rng_ctx) {
    KEEL_TRY(mul(priv, peer, shared, rng, rng_ctx));
    u8 acc = 0; // RFC 7748 §6.1: an all-zero result means a low-order point: abort
    for (u8 b : shared)
        acc = static_cast<u8>(acc | b);
    if (acc == 0) return Status::InvalidArgument;
    return Status::Ok;
}

} // namespace keel::crypto
