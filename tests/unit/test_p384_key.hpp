// A deterministic ECDSA P-384 controller key for host tests and the fuzz target, made and
// used with mbedTLS (the library keel-sign and keelctl use): the unit tests' controller
// (mailbox_test_util.hpp) and tests/fuzz/mailbox_fuzz.cpp sign HELLOs with it. No gtest
// here, so the fuzz target can include it; `ok` says whether every call succeeded.
#pragma once

#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>

#include "crypto/arena.hpp"
#include "crypto/ecdsa.hpp"
#include "crypto/sha2.hpp"

namespace keel::mailbox::test {

// Deterministic "randomness" for key generation and signing: tests must not depend on
// /dev/urandom, and a fixed stream still gives valid, distinct nonces k per call.
inline int test_rng(void* state, unsigned char* out, size_t n) {
    auto* ctr = static_cast<u64*>(state);
    for (size_t i = 0; i < n; ++i) {
        *ctr = *ctr * 6364136223846793005ull + 1442695040888963407ull;
        out[i] = static_cast<u8>(*ctr >> 56);
    }
    return 0;
}

struct TestKey {
    u8 d[48] = {};
    u8 pub[crypto::kP384PublicKeySize] = {};
    u64 rng = 0;
    bool ok = false; // every mbedTLS call succeeded (tests check it)

    explicit TestKey(u64 seed) : rng(seed) {
        (void)crypto::init(); // mbedTLS allocates from Keel's arena, as in keel-sign
        mbedtls_ecp_group grp;
        mbedtls_mpi md;
        mbedtls_ecp_point q;
        mbedtls_ecp_group_init(&grp);
        mbedtls_mpi_init(&md);
        mbedtls_ecp_point_init(&q);
        size_t olen = 0;
        int rc = mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP384R1);
        if (rc == 0) rc = mbedtls_ecp_gen_keypair(&grp, &md, &q, test_rng, &rng);
        if (rc == 0) rc = mbedtls_mpi_write_binary(&md, d, sizeof d);
        if (rc == 0)
            rc = mbedtls_ecp_point_write_binary(&grp, &q, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, pub,
                                                sizeof pub);
        mbedtls_ecp_point_free(&q);
        mbedtls_mpi_free(&md);
        mbedtls_ecp_group_free(&grp);
        ok = rc == 0 && olen == sizeof pub;
    }

    // ECDSA P-384 over a SHA-384 digest, raw r||s, as keelctl signs a HELLO (§4.2).
    void sign_digest(const u8 (&digest)[crypto::kSha384Size], u8* sig) {
        mbedtls_ecp_group grp;
        mbedtls_mpi md, r, s;
        mbedtls_ecp_group_init(&grp);
        mbedtls_mpi_init(&md);
        mbedtls_mpi_init(&r);
        mbedtls_mpi_init(&s);
        int rc = mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP384R1);
        if (rc == 0) rc = mbedtls_mpi_read_binary(&md, d, sizeof d);
        if (rc == 0)
            rc = mbedtls_ecdsa_sign(&grp, &r, &s, &md, digest, sizeof digest, test_rng, &rng);
        if (rc == 0) rc = mbedtls_mpi_write_binary(&r, sig, 48);
        if (rc == 0) rc = mbedtls_mpi_write_binary(&s, sig + 48, 48);
        mbedtls_mpi_free(&s);
        mbedtls_mpi_free(&r);
        mbedtls_mpi_free(&md);
        mbedtls_ecp_group_free(&grp);
        ok = ok && rc == 0;
    }
};

} // namespace keel::mailbox::test
