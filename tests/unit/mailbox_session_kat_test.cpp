// Known answers for the mailbox session's key agreement, key schedule and MACs
// (hypervisor/mailbox/session_crypto.hpp, crypto/x25519.hpp). The constants below come
// from tests/data/session_kat.py, which computes them without Keel's code or mbedTLS
// (RFC 7748's ladder, RFC 5869's HKDF over Python's hmac/hashlib) and checks that this file
// still holds them (ctest mailbox.session_kat_script). X25519 inputs: RFC 7748 §6.1.
#include <gtest/gtest.h>
#include <string.h>

#include <string>
#include <vector>

#include "hypervisor/mailbox/session_crypto.hpp"

namespace keel::mailbox {
namespace {

constexpr char k_keel_pub[] = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
constexpr char k_ctl_pub[] = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
constexpr char k_shared[] = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
constexpr char k_transcript_sha384[] = "e70bfffac751e74757b8b56b769a9323de93995d78bb90135f7b0f48d98"
                                       "259ee8d1b3d5f49fb33967e88552b34f2df38";
constexpr char k_k_cmd[] = "95f1829d01fe746fb7cd1eb6aca0a4d0c0e3d4beac9ef3f7f606fb1580bc28a9";
constexpr char k_k_rsp[] = "412f93474745145e123767ae931ef7a687e472963fb084ffc0128b097c8b062a";
constexpr char k_k_log[] = "469e31bdf2a488ffc216ed35bc487685bd3465a73f1a08d3b79a1e4e477d8d14";
constexpr char k_cmd_mac[] = "ff9b738aa64d89d15c1c7e8b8ea3f2ea911eab0a2df81aa3fc635e5b955d24bb";
constexpr char k_rsp_mac[] = "441088a87832d36079762894db5a9d3fe43ea88fa8777723d16fec1035fbc813";
constexpr char k_rec_mac[] = "51b1f092797aadca591391ab70f286c2";

std::vector<u8> unhex(const char* h) {
    std::vector<u8> out;
    for (usize i = 0; h[i] != '\0' && h[i + 1] != '\0'; i += 2)
        out.push_back(static_cast<u8>(std::stoi(std::string(h + i, 2), nullptr, 16)));
    return out;
}
template <usize N>
bool eq(const u8 (&got)[N], const char* want) {
    return std::vector<u8>(got, got + N) == unhex(want);
}
int fixed_rng(void* ctr, unsigned char* out, size_t n) {
    for (size_t i = 0; i < n; ++i)
        out[i] = static_cast<u8>(++*static_cast<u32*>(ctr));
    return 0;
}

constexpr char kAlice[] = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
constexpr char kBob[] = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";

struct Kat : ::testing::Test {
    u8 alice[32], bob[32], keel_pub[32], ctl_pub[32], shared[32];
    HelloTranscript t{};
    SessionKeys keys{};
    u32 ctr = 0;
    void SetUp() override {
        memcpy(alice, unhex(kAlice).data(), 32);
        memcpy(bob, unhex(kBob).data(), 32);
        ASSERT_EQ(crypto::x25519_public(alice, keel_pub, fixed_rng, &ctr), Status::Ok);
        ASSERT_EQ(crypto::x25519_public(bob, ctl_pub, fixed_rng, &ctr), Status::Ok);
        ASSERT_EQ(crypto::x25519_shared(alice, ctl_pub, shared, fixed_rng, &ctr), Status::Ok);
        SessionArea offer{};
        offer.offer_id = 1;
        offer.boot_counter = 7;
        for (u8 i = 0; i < 16; ++i)
            offer.offer_nonce[i] = static_cast<u8>(0x10 + i);
        memcpy(offer.keel_pub, keel_pub, 32);
        u8 boot_nonce[16];
        for (u8 i = 0; i < 16; ++i)
            boot_nonce[i] = i;
        hello_transcript(boot_nonce, offer, ctl_pub, t);
        ASSERT_EQ(session_keys(shared, t, keys), Status::Ok);
    }
};

TEST_F(Kat, X25519MatchesRfc7748) {
    EXPECT_TRUE(eq(keel_pub, k_keel_pub));
    EXPECT_TRUE(eq(ctl_pub, k_ctl_pub));
    EXPECT_TRUE(eq(shared, k_shared));
    u8 other[32];
    ASSERT_EQ(crypto::x25519_shared(bob, keel_pub, other, fixed_rng, &ctr), Status::Ok);
    EXPECT_EQ(memcmp(other, shared, 32), 0) << "both sides agree";
}

TEST_F(Kat, LowOrderPointIsRefused) {
    const u8 zero[32] = {}; // the point at u = 0: every scalar gives the all-zero secret
    u8 out[32];
    EXPECT_EQ(crypto::x25519_shared(alice, zero, out, fixed_rng, &ctr), Status::InvalidArgument);
    EXPECT_EQ(crypto::x25519_shared(alice, ctl_pub, out, nullptr, nullptr), Status::InvalidArgument)
        << "no blinding source: refused, not unblinded";
}

TEST_F(Kat, TranscriptAndKeySchedule) {
    u8 digest[crypto::kSha384Size];
    hello_digest(t, digest);
    EXPECT_TRUE(eq(digest, k_transcript_sha384));
    EXPECT_TRUE(eq(keys.cmd, k_k_cmd));
    EXPECT_TRUE(eq(keys.rsp, k_k_rsp));
    EXPECT_TRUE(eq(keys.log, k_k_log));
}

TEST_F(Kat, MacsOnCommandResponseAndRecord) {
    CommandSlot c{};
    c.seq = 1000, c.session_id = 1, c.opcode = 1;
    ASSERT_EQ(mac_command(keys.cmd, c), Status::Ok);
    EXPECT_TRUE(eq(c.mac, k_cmd_mac));
    EXPECT_EQ(check_command(keys.cmd, c), Status::Ok);
    ResponseSlot r{};
    r.seq = 1000, r.opcode = 1, r.session_id = 1;
    ASSERT_EQ(mac_response(keys.rsp, r), Status::Ok);
    EXPECT_TRUE(eq(r.mac, k_rsp_mac));
    AuditRecord a{};
    a.index = 3, a.time_ms = 5, a.seq = 1000, a.kind = 1, a.opcode = 1;
    memcpy(a.detail, "ping", 4);
    memset(a.prev_hash, 0x22, sizeof a.prev_hash);
    ASSERT_EQ(mac_record(keys.log, a), Status::Ok);
    EXPECT_TRUE(eq(a.mac, k_rec_mac));
    EXPECT_EQ(check_record(keys.log, a), Status::Ok);
    // The keys are directional: a command MAC never passes as a response MAC.
    EXPECT_NE(memcmp(keys.cmd, keys.rsp, 32), 0);
    EXPECT_EQ(check_command(keys.rsp, c), Status::AuthFailed);
}

} // namespace
} // namespace keel::mailbox
