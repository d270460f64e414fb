// Signing a keel.img built in a test (docs/image-format.md): the header goes to offset 0,
// its SHA-384 is signed with keel-sign's key code, the raw r||s follows it. Shared by the
// image-format and live-update tests. Not a *_test.cpp (the unit-test glob skips it).
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "boot/image/keel_image.hpp"
#include "tools/keel-sign/keys.hpp"

namespace keel::image::test {

inline void write_signed_header(std::vector<u8>& img, const Header& h,
                                const sign::PrivateKey& key) {
    memcpy(img.data(), &h, sizeof(h));
    u8 digest[48], sig[96];
    crypto::sha384(&h, sizeof(h), digest);
    std::string err;
    EXPECT_TRUE(sign::sign_digest(key, digest, sig, err)) << err;
    memcpy(img.data() + kSignatureOffset, sig, sizeof(sig));
}

} // namespace keel::image::test
