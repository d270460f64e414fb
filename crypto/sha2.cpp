// SHA-2 glue over mbedTLS. The mbedTLS calls below only fail on a bad is224/is384
// argument, which these wrappers never pass, so their results are dropped.
#include "crypto/sha2.hpp"

#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>

namespace keel::crypto {

namespace {
constexpr int kIs256 = 0; // mbedtls_sha256_starts(ctx, is224)
constexpr int kIs384 = 1; // mbedtls_sha512_starts(ctx, is384)
} // namespace

void sha256(const void* data, usize len, u8 (&out)[kSha256Size]) {
    (void)mbedtls_sha256(static_cast<const unsigned char*>(data), len, out, kIs256);
}

void sha384(const void* data, usize len, u8 (&out)[kSha384Size]) {
    (void)mbedtls_sha512(static_cast<const unsigned char*>(data), len, out, kIs384);
}

// --- Sha256 ----------------------------------------------------------------------
static_assert(sizeof(mbedtls_sha256_context) <= 112 && alignof(mbedtls_sha256_context) <= 8);

static mbedtls_sha256_context* ctx256(u8* storage) {
    return reinterpret_cast<mbedtls_sha256_context*>(storage);
}

Sha256::Sha256() { init(); }
Sha256::~Sha256() { mbedtls_sha256_free(ctx256(state_)); }

void Sha256::init() {
    mbedtls_sha256_init(ctx256(state_));
    (void)mbedtls_sha256_starts(ctx256(state_), kIs256);
}

void Sha256::update(const void* data, usize len) {
    (void)mbedtls_sha256_update(ctx256(state_), static_cast<const unsigned char*>(data), len);
}

void Sha256::final(u8 (&out)[kSha256Size]) {
    (void)mbedtls_sha256_finish(ctx256(state_), out);
    mbedtls_sha256_free(ctx256(state_)); // zeroes the state
}

// --- Sha384 ----------------------------------------------------------------------
static_assert(sizeof(mbedtls_sha512_context) <= 224 && alignof(mbedtls_sha512_context) <= 8);

static mbedtls_sha512_context* ctx512(u8* storage) {
    return reinterpret_cast<mbedtls_sha512_context*>(storage);
}

Sha384::Sha384() { init(); }
Sha384::~Sha384() { mbedtls_sha512_free(ctx512(state_)); }

void Sha384::init() {
    mbedtls_sha512_init(ctx512(state_));
    (void)mbedtls_sha512_starts(ctx512(state_), kIs384);
}

void Sha384::update(const void* data, usize len) {
    (void)mbedtls_sha512_update(ctx512(state_), static_cast<const unsigned char*>(data), len);
}

void Sha384::final(u8 (&out)[kSha384Size]) {
    (void)mbedtls_sha512_finish(ctx512(state_), out);
    mbedtls_sha512_free(ctx512(state_));
}

} // namespace keel::crypto
