// SHA-256 and SHA-384 (FIPS 180-4), one-shot and streaming, over mbedTLS.
// Nothing here allocates, so none of it can fail.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::crypto {

constexpr usize kSha256Size = 32;
constexpr usize kSha384Size = 48;

void sha256(const void* data, usize len, u8 (&out)[kSha256Size]);
void sha384(const void* data, usize len, u8 (&out)[kSha384Size]);

// Streaming hash for inputs too large to map at once (guest images):
//   Sha384 h;  h.update(a, n);  h.update(b, m);  h.final(digest);
// init() restarts; final() leaves the object ready for a new init().
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void init();
    void update(const void* data, usize len);
    void final(u8 (&out)[kSha256Size]);

private:
    alignas(8) u8 state_[112]; // mbedtls_sha256_context, size checked in sha2.cpp
};

class Sha384 {
public:
    Sha384();
    ~Sha384();
    Sha384(const Sha384&) = delete;
    Sha384& operator=(const Sha384&) = delete;

    void init();
    void update(const void* data, usize len);
    void final(u8 (&out)[kSha384Size]);

private:
    alignas(8) u8 state_[224]; // mbedtls_sha512_context, size checked in sha2.cpp
};

} // namespace keel::crypto
