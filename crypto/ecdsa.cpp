// ECDSA verification glue over mbedTLS; see ecdsa.hpp for the encodings.
#include "crypto/ecdsa.hpp"

#include "crypto/arena.hpp"

#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>

namespace keel::crypto {

namespace {

Status from_mbedtls(int rc) {
    switch (rc) {
    case 0: return Status::Ok;
    case MBEDTLS_ERR_ECP_ALLOC_FAILED:
    case MBEDTLS_ERR_MPI_ALLOC_FAILED: return Status::NoMemory;
    default: return Status::BadSignature;
    }
}

// Owns the mbedTLS objects of one verification so every exit path frees them.
struct VerifyState {
    mbedtls_ecp_group grp;
    mbedtls_ecp_point q;
    mbedtls_mpi r;
    mbedtls_mpi s;

    VerifyState() {
        mbedtls_ecp_group_init(&grp);
        mbedtls_ecp_point_init(&q);
        mbedtls_mpi_init(&r);
        mbedtls_mpi_init(&s);
    }
    ~VerifyState() {
        mbedtls_mpi_free(&s);
        mbedtls_mpi_free(&r);
        mbedtls_ecp_point_free(&q);
        mbedtls_ecp_group_free(&grp);
    }
    VerifyState(const VerifyState&) = delete;
    VerifyState& operator=(const VerifyState&) = delete;
};

// `coord` is the byte width of one coordinate and of r and s.
Status verify(mbedtls_ecp_group_id curve, usize coord, const u8* pubkey, const u8* digest,
              usize digest_len, const u8* sig) {
    if (pubkey == nullptr || digest == nullptr || digest_len == 0 || sig == nullptr)
        return Status::InvalidArgument;
    if (pubkey[0] != 0x04) return Status::InvalidArgument; // only uncompressed points
    KEEL_TRY(init());

    VerifyState st;
    int rc = mbedtls_ecp_group_load(&st.grp, curve);
    if (rc != 0)
        return from_mbedtls(rc) == Status::NoMemory ? Status::NoMemory : Status::Unsupported;

    rc = mbedtls_ecp_point_read_binary(&st.grp, &st.q, pubkey, 1 + 2 * coord);
    if (rc == 0) rc = mbedtls_ecp_check_pubkey(&st.grp, &st.q); // on the curve, not infinity
    if (rc != 0)
        return from_mbedtls(rc) == Status::NoMemory ? Status::NoMemory : Status::InvalidArgument;

    rc = mbedtls_mpi_read_binary(&st.r, sig, coord);
    if (rc == 0) rc = mbedtls_mpi_read_binary(&st.s, sig + coord, coord);
    if (rc == 0) rc = mbedtls_ecdsa_verify(&st.grp, digest, digest_len, &st.q, &st.r, &st.s);
    return from_mbedtls(rc);
}

} // namespace

Status ecdsa_p384_verify(const u8* pubkey, const u8* digest, usize digest_len, const u8* sig) {
    return verify(MBEDTLS_ECP_DP_SECP384R1, 48, pubkey, digest, digest_len, sig);
}

Status ecdsa_p256_verify(const u8* pubkey, const u8* digest, usize digest_len, const u8* sig) {
    return verify(MBEDTLS_ECP_DP_SECP256R1, 32, pubkey, digest, digest_len, sig);
}

} // namespace keel::crypto
