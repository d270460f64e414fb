// Host tests of crypto/: known answers, tamper rejection, streaming vs one-shot,
// and arena exhaustion reported as NoMemory.
#include "crypto/arena.hpp"
#include "crypto/ecdsa.hpp"
#include "crypto/hmac.hpp"
#include "crypto/selftest.hpp"
#include "crypto/sha2.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace keel::crypto {
namespace {

std::string hex(const u8* p, usize n) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (usize i = 0; i < n; ++i) {
        s += digits[p[i] >> 4];
        s += digits[p[i] & 15];
    }
    return s;
}

std::vector<u8> unhex(const std::string& s) {
    std::vector<u8> v;
    for (usize i = 0; i + 1 < s.size(); i += 2)
        v.push_back(static_cast<u8>(std::stoi(s.substr(i, 2), nullptr, 16)));
    return v;
}

// RFC 6979 A.2.6: P-384 key and the SHA-384 signature of "sample" (same as selftest.cpp,
// spelled independently here so a typo in one place cannot hide in both).
const std::string kP384Ux = "EC3A4E415B4E19A4568618029F427FA5DA9A8BC4AE92E02E06AAE5286B300C64DEF8F0"
                            "EA9055866064A254515480BC13";
const std::string kP384Uy = "8015D9B72D7D57244EA8EF9AC0C621896708A59367F9DFB9F54CA84B3F1C9DB1288B23"
                            "1C3AE0D4FE7344FD2533264720";
const std::string kP384R = "94EDBB92A5ECB8AAD4736E56C691916B3F88140666CE9FA73D64C4EA95AD133C81A6481"
                           "52E44ACF96E36DD1E80FABE46";
const std::string kP384S = "99EF4AEB15F178CEA1FE40DB2603138F130E740A19624526203B6351D0A3A94FA329C14"
                           "5786E679E7B82C71A38628AC8";

struct P384Vector {
    std::vector<u8> key = unhex("04" + kP384Ux + kP384Uy);
    std::vector<u8> sig = unhex(kP384R + kP384S);
    u8 digest[kSha384Size];
    P384Vector() { sha384("sample", 6, digest); }
};

TEST(CryptoSha, KnownAnswers) {
    u8 d256[kSha256Size];
    sha256("abc", 3, d256);
    EXPECT_EQ(hex(d256, sizeof(d256)),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    u8 d384[kSha384Size];
    sha384("abc", 3, d384);
    EXPECT_EQ(hex(d384, sizeof(d384)),
              "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
              "8086072ba1e7cc2358baeca134c825a7");
    sha256("", 0, d256); // FIPS 180-4 empty message
    EXPECT_EQ(hex(d256, sizeof(d256)),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(CryptoSha, StreamingEqualsOneShot) {
    std::vector<u8> data(100000);
    for (usize i = 0; i < data.size(); ++i)
        data[i] = static_cast<u8>(i * 131 + (i >> 8));
    u8 one256[kSha256Size], one384[kSha384Size];
    sha256(data.data(), data.size(), one256);
    sha384(data.data(), data.size(), one384);
    for (usize chunk :
         {usize{1}, usize{63}, usize{64}, usize{127}, usize{128}, usize{4096}, usize{99999}}) {
        Sha256 h256;
        Sha384 h384;
        for (usize off = 0; off < data.size(); off += chunk) {
            usize n = std::min(chunk, data.size() - off);
            h256.update(data.data() + off, n);
            h384.update(data.data() + off, n);
        }
        u8 s256[kSha256Size], s384[kSha384Size];
        h256.final(s256);
        h384.final(s384);
        EXPECT_EQ(0, std::memcmp(s256, one256, sizeof(s256))) << "chunk " << chunk;
        EXPECT_EQ(0, std::memcmp(s384, one384, sizeof(s384))) << "chunk " << chunk;
    }
    Sha384 reused; // init() restarts after final()
    u8 d[kSha384Size];
    reused.update("xyz", 3);
    reused.final(d);
    reused.init();
    reused.update(data.data(), data.size());
    reused.final(d);
    EXPECT_EQ(0, std::memcmp(d, one384, sizeof(d)));
}

TEST(CryptoHmac, Rfc4231Case2AndVerify) {
    u8 mac[kHmacSha256Size];
    ASSERT_EQ(Status::Ok, hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac));
    EXPECT_EQ(hex(mac, sizeof(mac)),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_EQ(Status::Ok, hmac_sha256_verify("Jefe", 4, "what do ya want for nothing?", 28, mac));
    mac[31] ^= 1;
    EXPECT_EQ(Status::AuthFailed,
              hmac_sha256_verify("Jefe", 4, "what do ya want for nothing?", 28, mac));
    EXPECT_EQ(Status::InvalidArgument, hmac_sha256(nullptr, 4, "x", 1, mac));
}

// The precomputed key schedule (HmacSha256Key) against RFC 4231: case 2 (a short key),
// case 6 (a 131-byte key, hashed first), and reuse of one key for several messages.
TEST(CryptoHmac, KeyScheduleRfc4231Cases2And6) {
    u8 mac[kHmacSha256Size];
    HmacSha256Key k;
    EXPECT_EQ(Status::InvalidArgument, k.mac("x", 1, mac)) << "no key set";
    k.set("Jefe", 4);
    for (int round = 0; round < 2; ++round) {
        ASSERT_EQ(Status::Ok, k.mac("what do ya want for nothing?", 28, mac));
        EXPECT_EQ(hex(mac, sizeof(mac)),
                  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
    std::vector<u8> big(131, 0xaa);
    k.set(big.data(), big.size());
    const char* msg = "Test Using Larger Than Block-Size Key - Hash Key First";
    ASSERT_EQ(Status::Ok, k.mac(msg, strlen(msg), mac));
    EXPECT_EQ(hex(mac, sizeof(mac)),
              "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    k.clear();
    EXPECT_FALSE(k.ready());
}

TEST(CryptoHmac, Rfc5869Case1) {
    std::vector<u8> ikm(22, 0x0b), salt = unhex("000102030405060708090a0b0c"),
                                   info = unhex("f0f1f2f3f4f5f6f7f8f9");
    u8 okm[42];
    ASSERT_EQ(Status::Ok, hkdf_sha256(salt.data(), salt.size(), ikm.data(), ikm.size(), info.data(),
                                      info.size(), okm, sizeof(okm)));
    EXPECT_EQ(
        hex(okm, sizeof(okm)),
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
    EXPECT_EQ(Status::InvalidArgument, hkdf_sha256(nullptr, 0, ikm.data(), ikm.size(), nullptr, 0,
                                                   okm, kHkdfSha256MaxOutput + 1));
}

TEST(CryptoEcdsa, Rfc6979P384VerifiesAndRejectsTampering) {
    P384Vector v;
    ASSERT_EQ(v.key.size(), kP384PublicKeySize);
    ASSERT_EQ(v.sig.size(), kP384SignatureSize);
    EXPECT_EQ(Status::Ok,
              ecdsa_p384_verify(v.key.data(), v.digest, sizeof(v.digest), v.sig.data()));

    for (usize bit : {usize{0}, usize{7}, usize{383}, usize{384}, usize{767}}) { // r and s
        auto sig = v.sig;
        sig[bit / 8] ^= static_cast<u8>(1u << (bit % 8));
        EXPECT_EQ(Status::BadSignature,
                  ecdsa_p384_verify(v.key.data(), v.digest, sizeof(v.digest), sig.data()))
            << "bit " << bit;
    }
    u8 other[kSha384Size];
    std::memcpy(other, v.digest, sizeof(other));
    other[5] ^= 0x10;
    EXPECT_EQ(Status::BadSignature,
              ecdsa_p384_verify(v.key.data(), other, sizeof(other), v.sig.data()));

    std::vector<u8> zero(kP384SignatureSize, 0); // r = s = 0 is out of range
    EXPECT_EQ(Status::BadSignature,
              ecdsa_p384_verify(v.key.data(), v.digest, sizeof(v.digest), zero.data()));
}

TEST(CryptoEcdsa, RejectsBadKeyEncoding) {
    P384Vector v;
    auto key = v.key;
    key[0] = 0x02; // compressed form is not accepted
    EXPECT_EQ(Status::InvalidArgument,
              ecdsa_p384_verify(key.data(), v.digest, sizeof(v.digest), v.sig.data()));
    key = v.key;
    key[96] ^= 1; // no longer on the curve
    EXPECT_EQ(Status::InvalidArgument,
              ecdsa_p384_verify(key.data(), v.digest, sizeof(v.digest), v.sig.data()));
    EXPECT_EQ(Status::InvalidArgument,
              ecdsa_p384_verify(nullptr, v.digest, sizeof(v.digest), v.sig.data()));
    EXPECT_EQ(Status::InvalidArgument, ecdsa_p384_verify(v.key.data(), v.digest, 0, v.sig.data()));
    EXPECT_EQ(Status::InvalidArgument,
              ecdsa_p384_verify(v.key.data(), v.digest, sizeof(v.digest), nullptr));
}

TEST(CryptoEcdsa, Rfc6979P256) {
    auto key = unhex("0460FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
                     "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299");
    auto sig = unhex("EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"
                     "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8");
    u8 d[kSha256Size];
    sha256("sample", 6, d);
    EXPECT_EQ(Status::Ok, ecdsa_p256_verify(key.data(), d, sizeof(d), sig.data()));
    sig[10] ^= 4;
    EXPECT_EQ(Status::BadSignature, ecdsa_p256_verify(key.data(), d, sizeof(d), sig.data()));
}

TEST(CryptoSelfTest, AllChecksPass) {
    SelfTestResult results[kSelfTestChecks];
    EXPECT_EQ(Status::Ok, crypto_self_test(results));
    for (const auto& r : results) {
        ASSERT_NE(r.name, nullptr);
        EXPECT_EQ(Status::Ok, r.status) << r.name;
    }
    EXPECT_STREQ(results[1].name, "sha384");
    EXPECT_STREQ(results[5].name, "ecdsa-p384-tamper");
    EXPECT_STREQ(results[6].name, "x25519");
    EXPECT_EQ(arena().stats().in_use, 0u) << "mbedTLS leaked arena blocks";
    EXPECT_LE(arena().stats().peak, arena().stats().capacity);
}

TEST(CryptoArena, FirstFitSplitsMergesAndRejectsForeignPointers) {
    alignas(16) static u8 buf[1024];
    Arena a;
    EXPECT_EQ(nullptr, a.calloc(1, 1)); // not reset yet
    a.reset(buf, sizeof(buf));
    EXPECT_EQ(a.stats().capacity, 1024u - 16u);
    void* p = a.calloc(10, 10);
    void* q = a.calloc(1, 200);
    ASSERT_NE(p, nullptr);
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(reinterpret_cast<uptr>(p) % Arena::kAlign, 0u);
    EXPECT_EQ(static_cast<u8*>(p)[99], 0);
    std::memset(p, 0xaa, 100);
    EXPECT_EQ(nullptr, a.calloc(usize(-1) / 2, 4)); // n * size overflows
    EXPECT_EQ(nullptr, a.calloc(1, 2000));          // larger than the arena
    a.free(p);
    void* p2 = a.calloc(1, 100); // first fit reuses the hole, zeroed again
    EXPECT_EQ(p2, p);
    EXPECT_EQ(static_cast<u8*>(p2)[50], 0);
    int on_stack = 0;
    a.free(&on_stack);                // foreign: counted, ignored
    a.free(static_cast<u8*>(q) + 16); // interior pointer: counted, ignored
    a.free(p2);
    a.free(p2); // double free: counted, ignored
    EXPECT_EQ(a.stats().bad_frees, 3u);
    a.free(q);
    EXPECT_EQ(a.stats().in_use, 0u);
    void* all = a.calloc(1, a.stats().capacity); // everything merged back into one block
    EXPECT_NE(all, nullptr);
}

TEST(CryptoArena, ExhaustionIsNoMemoryNotACrash) {
    ASSERT_EQ(Status::Ok, init());
    Arena& a = arena();
    // Fill the arena until it refuses, leaving mbedTLS nothing.
    std::vector<void*> held;
    for (void* p; (p = a.calloc(1, 256)) != nullptr;)
        held.push_back(p);
    usize failures = a.stats().failures;

    P384Vector v;
    EXPECT_EQ(Status::NoMemory,
              ecdsa_p384_verify(v.key.data(), v.digest, sizeof(v.digest), v.sig.data()));
    u8 mac[kHmacSha256Size];
    EXPECT_EQ(Status::NoMemory, hmac_sha256("k", 1, "m", 1, mac));
    EXPECT_GT(a.stats().failures, failures);
    EXPECT_NE(Status::Ok, crypto_self_test());

    for (void* p : held)
        a.free(p);
    EXPECT_EQ(a.stats().in_use, 0u);
    EXPECT_EQ(Status::Ok,
              ecdsa_p384_verify(v.key.data(), v.digest, sizeof(v.digest), v.sig.data()));
    EXPECT_EQ(Status::Ok, crypto_self_test());
}

TEST(CryptoArena, FailureMidwayLeaksNothing) {
    ASSERT_EQ(Status::Ok, init());
    Arena& a = arena();
    P384Vector v;
    // Leave only `left` bytes so mbedTLS runs out at different points of a verify.
    bool saw_no_memory = false, saw_ok = false;
    for (usize left = 0; left <= 8192 && !saw_ok; left += 64) {
        void* hog = a.calloc(1, a.stats().capacity - a.stats().in_use - left - 16);
        ASSERT_NE(hog, nullptr);
        Status s = ecdsa_p384_verify(v.key.data(), v.digest, sizeof(v.digest), v.sig.data());
        ASSERT_TRUE(s == Status::Ok || s == Status::NoMemory) << status_name(s);
        saw_no_memory |= s == Status::NoMemory;
        saw_ok |= s == Status::Ok;
        a.free(hog);
        ASSERT_EQ(a.stats().in_use, 0u) << "left " << left;
    }
    EXPECT_TRUE(saw_no_memory);
    EXPECT_TRUE(saw_ok);
}

} // namespace
} // namespace keel::crypto
