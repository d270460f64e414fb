// Command authentication (hypervisor/mailbox/auth.cpp, docs/mailbox.md §4): nonce,
// strictly increasing sequence, replay, out-of-order, bad signature, with a P-384 key
// pair generated here; and the order of checks inside the service.
#include "hypervisor/mailbox/auth.hpp"

#include "tests/unit/mailbox_test_util.hpp"

namespace keel::mailbox {
namespace {

struct MailboxAuthF : ::testing::Test {
    test::TestKey key{1};
    Authenticator auth;
    u8 nonce[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

    void SetUp() override { auth.init(key.pub, nonce); }
    CommandSlot signed_slot(u64 seq) {
        CommandSlot s{};
        s.seq = seq;
        memcpy(s.nonce, nonce, 16);
        s.opcode = static_cast<u16>(Opcode::Ping);
        key.sign(s);
        return s;
    }
};

TEST_F(MailboxAuthF, AcceptsAValidCommandAndConsumesItsSequence) {
    CommandSlot s = signed_slot(10);
    EXPECT_EQ(auth.check(s), Status::Ok);
    EXPECT_EQ(auth.last_seq(), 10u);
}

TEST_F(MailboxAuthF, ReplayOfTheSameSlotIsRefused) {
    CommandSlot s = signed_slot(10);
    ASSERT_EQ(auth.check(s), Status::Ok);
    EXPECT_EQ(auth.check(s), Status::Replayed);
    EXPECT_EQ(auth.last_seq(), 10u);
}

TEST_F(MailboxAuthF, OutOfOrderAndEqualSequencesAreRefused) {
    CommandSlot a = signed_slot(20), older = signed_slot(15), same = signed_slot(20);
    ASSERT_EQ(auth.check(a), Status::Ok);
    EXPECT_EQ(auth.check(older), Status::Replayed);
    EXPECT_EQ(auth.check(same), Status::Replayed) << "strictly increasing, not non-decreasing";
    EXPECT_EQ(auth.check(signed_slot(21)), Status::Ok);
    EXPECT_EQ(auth.check(signed_slot(1000)), Status::Ok) << "gaps are fine";
}

TEST_F(MailboxAuthF, WrongNonceIsRefusedBeforeTheSignature) {
    CommandSlot s = signed_slot(10);
    s.nonce[15] ^= 1;
    key.sign(s); // correctly signed, but bound to another boot
    EXPECT_EQ(auth.check(s), Status::AuthFailed);
    EXPECT_EQ(auth.last_seq(), 0u);
}

TEST_F(MailboxAuthF, AnyFlippedSignedBitIsABadSignature) {
    const usize offs[] = {0, 8, 24, 26, 28, 32, 40, kSignedBytes - 1};
    for (usize off : offs) {
        CommandSlot s = signed_slot(10);
        reinterpret_cast<u8*>(&s)[off] ^= 0x40;
        if (off < 8) s.seq = 10 + 0x40;     // keep seq above last_seq so the signature decides
        if (off >= 8 && off < 24) continue; // nonce bytes: AuthFailed, covered above
        EXPECT_EQ(auth.check(s), Status::BadSignature) << "byte " << off;
    }
    CommandSlot s = signed_slot(10);
    s.signature[0] ^= 1;
    EXPECT_EQ(auth.check(s), Status::BadSignature);
    EXPECT_EQ(auth.last_seq(), 0u) << "a failed check consumes no sequence number";
    EXPECT_EQ(auth.check(signed_slot(10)), Status::Ok)
        << "so the genuine command still goes through";
}

TEST_F(MailboxAuthF, ForeignKeyIsABadSignature) {
    test::TestKey other{99};
    CommandSlot s{};
    s.seq = 10;
    memcpy(s.nonce, nonce, 16);
    s.opcode = 1;
    other.sign(s);
    EXPECT_EQ(auth.check(s), Status::BadSignature);
}

TEST(MailboxAuth, NoKeyAuthenticatesNothing) {
    test::TestKey key{1};
    Authenticator a;
    u8 zero[crypto::kP384PublicKeySize] = {};
    u8 nonce[16] = {};
    a.init(zero, nonce);
    EXPECT_FALSE(a.has_key());
    CommandSlot s{};
    s.seq = 1;
    key.sign(s);
    EXPECT_EQ(a.check(s), Status::AuthFailed);
}

TEST(MailboxAuth, NotAPointOnTheCurveAuthenticatesNothing) {
    test::TestKey key{1};
    Authenticator a;
    u8 bad[crypto::kP384PublicKeySize];
    memcpy(bad, key.pub, sizeof bad);
    bad[50] ^= 1; // still starts with 0x04, but off the curve
    u8 nonce[16] = {};
    a.init(bad, nonce);
    CommandSlot s{};
    s.seq = 1;
    key.sign(s);
    EXPECT_NE(a.check(s), Status::Ok);
}

// Inside the service: structure first, then log room, then authentication; a rejected
// command does not advance the sequence, and the response carries the reason.
TEST(MailboxAuth, ServiceOrdersChecksAndAnswersEveryCommand) {
    test::Box b;
    b.attach();
    EXPECT_EQ(b.call(Opcode::Ping, 0), Status::Ok);
    const u64 good = b.seq;
    CommandSlot s = b.make(Opcode::Ping, 0);
    s.seq = good; // replay of the sequence number (freshly signed)
    b.key.sign(s);
    EXPECT_EQ(b.send(s), Status::Replayed);
    s = b.make(Opcode::Ping, 0);
    b.key.sign(s);
    s.signature[95] ^= 1;
    EXPECT_EQ(b.send(s), Status::BadSignature);
    s = b.make(Opcode::Ping, 0);
    s.flags = 1; // malformed and unsigned: decode answers before any verify
    EXPECT_EQ(b.send(s), Status::InvalidArgument);
    ResponseSlot r;
    EXPECT_EQ(b.call(Opcode::Ping, 0, nullptr, 0, &r), Status::Ok);
    PingReply p;
    memcpy(&p, r.payload, sizeof p);
    EXPECT_EQ(p.last_seq, b.seq);
}

TEST(MailboxAuth, ServiceWithoutKeyRefusesAndSaysSoInTheBootRecord) {
    test::Box b;
    b.attach(false);
    EXPECT_EQ(b.call(Opcode::Ping, 0), Status::AuthFailed);
    EXPECT_EQ(b.log(0).kind, static_cast<u32>(AuditKind::Boot));
    EXPECT_EQ(b.log(0).status, static_cast<u32>(Status::AuthFailed));
}

} // namespace
} // namespace keel::mailbox
