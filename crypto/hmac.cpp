// HMAC/HKDF glue over mbedTLS's md layer.
#include "crypto/hmac.hpp"

#include "crypto/arena.hpp"

#include <string.h>

#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

extern "C" { // mbedTLS 3.6's constant_time.h lacks the C++ linkage guard the others have
#include <mbedtls/constant_time.h>
}

namespace keel::crypto {

namespace {

Status from_mbedtls(int rc) {
    switch (rc) {
    case 0: return Status::Ok;
    case MBEDTLS_ERR_MD_ALLOC_FAILED: return Status::NoMemory;
    default: return Status::InvalidArgument;
    }
}

const unsigned char* bytes(const void* p) { return static_cast<const unsigned char*>(p); }

// mbedTLS rejects null with a non-zero length; a null with length 0 is passed on as is.
bool valid(const void* p, usize len) { return p != nullptr || len == 0; }

} // namespace

Status hmac_sha256(const void* key, usize key_len, const void* msg, usize msg_len,
                   u8 (&out)[kHmacSha256Size]) {
    if (!valid(key, key_len) || !valid(msg, msg_len)) return Status::InvalidArgument;
    KEEL_TRY(init());
    const mbedtls_md_info_t* md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    return from_mbedtls(mbedtls_md_hmac(md, bytes(key), key_len, bytes(msg), msg_len, out));
}

Status hmac_sha256_verify(const void* key, usize key_len, const void* msg, usize msg_len,
                          const u8 (&tag)[kHmacSha256Size]) {
    u8 mac[kHmacSha256Size];
    KEEL_TRY(hmac_sha256(key, key_len, msg, msg_len, mac));
    bool same = mbedtls_ct_memcmp(mac, tag, sizeof(mac)) == 0;
    mbedtls_platform_zeroize(mac, sizeof(mac));
    return same ? Status::Ok : Status::AuthFailed;
}

static_assert(sizeof(mbedtls_sha256_context) <= 112 && alignof(mbedtls_sha256_context) <= 8);

void HmacSha256Key::set(const void* key, usize len) {
    u8 block[64] = {};
    if (len > sizeof block)
        (void)mbedtls_sha256(bytes(key), len, block, 0);
    else if (len != 0)
        memcpy(block, key, len);
    auto* in = reinterpret_cast<mbedtls_sha256_context*>(inner_);
    auto* out = reinterpret_cast<mbedtls_sha256_context*>(outer_);
    u8 pad[64];
    for (usize i = 0; i < sizeof pad; ++i)
        pad[i] = static_cast<u8>(block[i] ^ 0x36);
    mbedtls_sha256_init(in);
    (void)mbedtls_sha256_starts(in, 0);
    (void)mbedtls_sha256_update(in, pad, sizeof pad);
    for (usize i = 0; i < sizeof pad; ++i)
        pad[i] = static_cast<u8>(block[i] ^ 0x5c);
    mbedtls_sha256_init(out);
    (void)mbedtls_sha256_starts(out, 0);
    (void)mbedtls_sha256_update(out, pad, sizeof pad);
    mbedtls_platform_zeroize(pad, sizeof pad);
    mbedtls_platform_zeroize(block, sizeof block);
    ready_ = true;
}

void HmacSha256Key::clear() {
    mbedtls_platform_zeroize(inner_, sizeof inner_);
    mbedtls_platform_zeroize(outer_, sizeof outer_);
    ready_ = false;
}

void HmacSha256Key::copy_from(const HmacSha256Key& other) {
    memcpy(inner_, other.inner_, sizeof inner_);
    memcpy(outer_, other.outer_, sizeof outer_);
    ready_ = other.ready_;
}

Status HmacSha256Key::mac(const void* msg, usize len, u8 (&out)[kHmacSha256Size]) const {
    if (!ready_ || !valid(msg, len)) return Status::InvalidArgument;
    mbedtls_sha256_context c;
    mbedtls_sha256_init(&c);
    mbedtls_sha256_clone(&c, reinterpret_cast<const mbedtls_sha256_context*>(inner_));
    u8 ih[kHmacSha256Size];
    (void)mbedtls_sha256_update(&c, bytes(msg), len);
    (void)mbedtls_sha256_finish(&c, ih);
    mbedtls_sha256_clone(&c, reinterpret_cast<const mbedtls_sha256_context*>(outer_));
    (void)mbedtls_sha256_update(&c, ih, sizeof ih);
    (void)mbedtls_sha256_finish(&c, out);
    mbedtls_sha256_free(&c);
    mbedtls_platform_zeroize(ih, sizeof ih);
    return Status::Ok;
}

Status hkdf_sha256(const void* salt, usize salt_len, const void* ikm, usize ikm_len,
                   const void* info, usize info_len, u8* okm, usize okm_len) {
    if (!valid(salt, salt_len) || !valid(ikm, ikm_len) || !valid(info, info_len) ||
        okm == nullptr || okm_len == 0 || okm_len > kHkdfSha256MaxOutput)
        return Status::InvalidArgument;
    KEEL_TRY(init());
    const mbedtls_md_info_t* md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    return from_mbedtls(mbedtls_hkdf(md, bytes(salt), salt_len, bytes(ikm), ikm_len, bytes(info),
                                     info_len, okm, okm_len));
}

} // namespace keel::crypto
