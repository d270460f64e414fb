/* Keel's mbedTLS 3.6 configuration, passed with -DMBEDTLS_CONFIG_FILE.
 *
 * Only what the hypervisor and its host tools use: SHA-2, HMAC/HKDF, ECDSA
 * verification on P-256 and P-384, ASN.1, and AES (GCM, XTS) for sealed state.
 * The hypervisor has no clock, file system, network or entropy source, and it
 * never touches SIMD registers, so every accelerated path is left out.
 * Memory comes from crypto/arena.cpp through mbedtls_platform_set_calloc_free().
 * build_info.h checks this file with check_config.h after including it.
 */
#ifndef KEEL_MBEDTLS_CONFIG_H
#define KEEL_MBEDTLS_CONFIG_H

/* --- platform: no libc beyond memcpy & co., no time, no entropy ------------ */
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY /* calloc/free set at run time by crypto::init() */
#define MBEDTLS_PLATFORM_NO_STD_FUNCTIONS
#define MBEDTLS_NO_PLATFORM_ENTROPY
/* bn_mul.h inline assembly uses general registers only. */
#define MBEDTLS_HAVE_ASM
/* No 128-by-64 division: it would need __udivti3 from a compiler runtime. */
#define MBEDTLS_NO_UDBL_DIVISION
/* Deliberately absent: MBEDTLS_HAVE_TIME, MBEDTLS_FS_IO, MBEDTLS_NET_C,
 * MBEDTLS_TIMING_C, MBEDTLS_ENTROPY_C, MBEDTLS_AESNI_C, MBEDTLS_AESCE_C,
 * MBEDTLS_PADLOCK_C, MBEDTLS_SHA256/512_USE_A64_CRYPTO_*, MBEDTLS_PSA_CRYPTO_C. */

/* --- hashes and MACs ------------------------------------------------------- */
#define MBEDTLS_MD_C /* generic hash + HMAC */
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C
#define MBEDTLS_HKDF_C

/* --- public-key signatures ------------------------------------------------- */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED /* X25519: mailbox session key agreement */
#define MBEDTLS_ECP_NIST_OPTIM            /* fast reduction for the NIST primes */
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
/* Small windows keep the peak arena use low (a verify runs in a few KiB). */
#define MBEDTLS_ECP_WINDOW_SIZE 2
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 0
#define MBEDTLS_MPI_WINDOW_SIZE 2
#define MBEDTLS_MPI_MAX_SIZE 64 /* bytes; the largest enabled curve, P-384, needs 48 */

/* --- symmetric (sealed state) ---------------------------------------------- */
#define MBEDTLS_AES_C
#define MBEDTLS_AES_ROM_TABLES /* tables in .rodata, no run-time generation */
#define MBEDTLS_AES_FEWER_TABLES
#define MBEDTLS_CIPHER_MODE_XTS
#define MBEDTLS_GCM_C /* through block_cipher.c, without cipher.c */

#endif /* KEEL_MBEDTLS_CONFIG_H */
