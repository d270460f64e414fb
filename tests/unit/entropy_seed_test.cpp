// hypervisor/entropy/seed: the health test, the refusal rule and the mixing. Expected
// seed values are recomputed here with an independent HKDF (RFC 5869) built on the
// RFC 2104 HMAC construction over crypto::sha256, not with the code under test.
#include <gtest/gtest.h>
#include <string.h>

#include <vector>

#include "crypto/sha2.hpp"
#include "hypervisor/entropy/seed.hpp"

using namespace keel;
using namespace keel::entropy;

namespace {

std::vector<u8> hmac(const std::vector<u8>& key, const std::vector<u8>& msg) {
    std::vector<u8> k(64, 0);
    memcpy(k.data(), key.data(), key.size()); // keys here are <= 64 bytes
    std::vector<u8> in(64), out(64);
    for (usize i = 0; i < 64; ++i)
        in[i] = static_cast<u8>(k[i] ^ 0x36), out[i] = static_cast<u8>(k[i] ^ 0x5c);
    in.insert(in.end(), msg.begin(), msg.end());
    u8 h[32];
    crypto::sha256(in.data(), in.size(), h);
    out.insert(out.end(), h, h + 32);
    crypto::sha256(out.data(), out.size(), h);
    return {h, h + 32};
}

std::vector<u8> hkdf32(const std::vector<u8>& salt, const std::vector<u8>& ikm,
                       const std::vector<u8>& info) {
    std::vector<u8> prk = hmac(salt.empty() ? std::vector<u8>(32, 0) : salt, ikm);
    std::vector<u8> t = info;
    t.push_back(1);
    return hmac(prk, t);
}

Inputs good_cpu() {
    Inputs in;
    in.cpu_name = "TEST";
    for (usize i = 0; i < kCpuWords; ++i)
        in.cpu[i] = 0x0123456789abcdefull * (i + 1) + 7;
    in.cpu_count = kCpuWords;
    return in;
}

} // namespace

TEST(EntropySeed, HealthTestRejectsRepeatsStuckAndShort) {
    Inputs in = good_cpu();
    EXPECT_TRUE(cpu_words_healthy(in.cpu, kCpuWords, kCpuWords));
    EXPECT_FALSE(cpu_words_healthy(in.cpu, kCpuWords - 1, kCpuWords)); // retries exhausted
    in.cpu[5] = in.cpu[2];                                             // a repeat anywhere
    EXPECT_FALSE(cpu_words_healthy(in.cpu, kCpuWords, kCpuWords));
    in = good_cpu();
    in.cpu[3] = 0; // stuck at zero (RNDR's failure value)
    EXPECT_FALSE(cpu_words_healthy(in.cpu, kCpuWords, kCpuWords));
    in.cpu[3] = ~0ull;
    EXPECT_FALSE(cpu_words_healthy(in.cpu, kCpuWords, kCpuWords));
}

TEST(EntropySeed, NoSourceRefusesWithAReason) {
    Inputs in; // no CPU RNG, no boot seed, only a counter and ticks
    in.boot_counter = 42;
    in.ticks = 123456;
    Seed s;
    const char* why = nullptr;
    EXPECT_EQ(derive_seed(in, s, &why), Status::NotFound);
    ASSERT_NE(why, nullptr);
    EXPECT_NE(strstr(why, "no CPU random-number instruction"), nullptr);
    EXPECT_EQ(s.sources, 0u);
    u8 nonce[16];
    EXPECT_EQ(expand(s, "x", 0, nonce, sizeof nonce), Status::InvalidArgument);

    in = good_cpu();
    in.cpu[1] = in.cpu[0]; // an RNG that failed its health test is not a source
    EXPECT_EQ(derive_seed(in, s, &why), Status::NotFound);
    EXPECT_NE(strstr(why, "health test"), nullptr);

    const u8 constant[32] = {0x5a, 0x5a, 0x5a}; // not constant: 0x5a then zeros
    u8 flat[32];
    memset(flat, 0x77, sizeof flat);
    Inputs b;
    b.boot_seed = flat;
    b.boot_seed_len = sizeof flat;
    EXPECT_EQ(derive_seed(b, s, &why), Status::NotFound); // one repeated byte: refused
    b.boot_seed = constant;
    b.boot_seed_len = 8; // too short
    EXPECT_EQ(derive_seed(b, s, &why), Status::NotFound);
}

TEST(EntropySeed, EitherSourceAloneIsEnoughAndIsMixedAsSpecified) {
    Inputs in = good_cpu();
    in.boot_counter = 9;
    in.ticks = 77;
    Seed s;
    ASSERT_EQ(derive_seed(in, s, nullptr), Status::Ok);
    EXPECT_EQ(s.sources, kSourceCpu);
    EXPECT_EQ(s.boot_counter, 9u);
    // ikm = cpu words (64) || boot seed field (32, zero when absent) || counter || ticks.
    std::vector<u8> ikm(reinterpret_cast<u8*>(in.cpu), reinterpret_cast<u8*>(in.cpu) + 64);
    ikm.resize(64 + 32, 0);
    for (u64 v : {in.boot_counter, in.ticks})
        for (int i = 0; i < 8; ++i)
            ikm.push_back(static_cast<u8>(v >> (8 * i)));
    const char* salt = "keel entropy seed v1";
    std::vector<u8> want = hkdf32({salt, salt + strlen(salt)}, ikm, {'s', 'e', 'e', 'd'});
    EXPECT_EQ(std::vector<u8>(s.key, s.key + 32), want);

    Inputs b;
    u8 stage[32];
    for (int i = 0; i < 32; ++i)
        stage[i] = static_cast<u8>(i * 13 + 1);
    b.boot_seed = stage;
    b.boot_seed_len = 32;
    ASSERT_EQ(derive_seed(b, s, nullptr), Status::Ok);
    EXPECT_EQ(s.sources, kSourceBootStage);
    const Seed first = s;
    stage[31] ^= 1; // one bit of boot-stage entropy changes the seed
    ASSERT_EQ(derive_seed(b, s, nullptr), Status::Ok);
    EXPECT_NE(memcmp(first.key, s.key, 32), 0);
}

TEST(EntropySeed, ExpandGivesIndependentLabelledValues) {
    Seed s;
    ASSERT_EQ(derive_seed(good_cpu(), s, nullptr), Status::Ok);
    u8 a[16], b[16], c[16];
    ASSERT_EQ(expand(s, "keel mailbox nonce", 0, a, sizeof a), Status::Ok);
    ASSERT_EQ(expand(s, "keel mailbox nonce", 1, b, sizeof b), Status::Ok);
    ASSERT_EQ(expand(s, "other", 0, c, sizeof c), Status::Ok);
    EXPECT_NE(memcmp(a, b, 16), 0);
    EXPECT_NE(memcmp(a, c, 16), 0);
    // expand = HKDF(salt none, ikm = seed, info = label || counter LE64).
    std::vector<u8> info = {'o', 't', 'h', 'e', 'r', 0, 0, 0, 0, 0, 0, 0, 0};
    std::vector<u8> want = hkdf32({}, {s.key, s.key + 32}, info);
    EXPECT_EQ(std::vector<u8>(c, c + 16), std::vector<u8>(want.begin(), want.begin() + 16));
}

TEST(EntropySeed, BootInfoHandOver) {
    BootInfo bi{};
    for (u32 i = 0; i < BootInfo::kEntropyMax; ++i)
        bi.entropy[i] = static_cast<u8>(i + 1);
    bi.entropy_len = 32;
    bi.boot_counter = 5;
    Inputs in;
    take_boot_info(bi, in); // no flags: nothing taken
    EXPECT_EQ(in.boot_seed, nullptr);
    EXPECT_EQ(in.boot_counter, 0u);
    bi.flags = BootInfo::kFlagEntropy | BootInfo::kFlagBootCounter;
    take_boot_info(bi, in);
    EXPECT_EQ(in.boot_seed, bi.entropy);
    EXPECT_EQ(in.boot_seed_len, 32u);
    EXPECT_EQ(in.boot_counter, 5u);
    bi.entropy_len = 33; // a producer claiming more than the field holds: ignored
    take_boot_info(bi, in);
    EXPECT_EQ(in.boot_seed_len, 0u);
}
