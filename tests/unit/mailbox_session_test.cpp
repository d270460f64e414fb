// The mailbox session (hypervisor/mailbox/session.cpp, docs/mailbox.md §4.2-4.4) through
// the service, with a controller built here (test::Box): handshake, MACs in both
// directions, every tamper case the threat model names, expiry and renewal, the
// sequence floor across sessions and boots, and flood accounting.
#include "hypervisor/mailbox/session.hpp"

#include "tests/unit/mailbox_test_util.hpp"

namespace keel::mailbox {
namespace {

using test::Box;

TEST(MailboxSession, HandshakeEstablishesASessionAndOffersTheNext) {
    Box b;
    b.attach(); // HELLO for offer 1, response MAC checked inside
    const SessionArea a = b.offer();
    EXPECT_EQ(a.active_id, 1u);
    EXPECT_EQ(a.offer_id, 2u) << "the next offer is ready at once";
    EXPECT_EQ(a.boot_counter, 3u) << "the persistent counter from the seed";
    EXPECT_EQ(a.seq_floor, 101u);
    ResponseSlot r;
    ASSERT_EQ(b.call(Opcode::Ping, 0, nullptr, 0, &r), Status::Ok);
    EXPECT_EQ(r.session_id, 1u);
    EXPECT_EQ(check_response(b.keys.rsp, r), Status::Ok);
    EXPECT_EQ(b.log(1).kind, static_cast<u32>(AuditKind::Session));
    EXPECT_EQ(check_record(b.keys.log, b.log(1)), Status::Ok);
    EXPECT_EQ(check_record(b.keys.log, b.log(2)), Status::Ok) << "the PING's record";
    const u8 zero[16] = {};
    EXPECT_EQ(memcmp(b.log(0).mac, zero, 16), 0) << "the boot record predates every key";
}

TEST(MailboxSession, AnyBitFlippedInACommandIsRefusedAndConsumesNothing) {
    Box b;
    b.attach();
    const u64 floor = b.svc->last_seq();
    for (usize byte = 0; byte < sizeof(CommandSlot); ++byte) {
        CommandSlot s = b.make(Opcode::Ping, 0);
        b.mac(s);
        reinterpret_cast<u8*>(&s)[byte] ^= static_cast<u8>(1u << (byte % 8));
        EXPECT_NE(b.send(s), Status::Ok) << "byte " << byte;
        EXPECT_EQ(b.svc->last_seq(), floor) << "byte " << byte;
    }
    EXPECT_EQ(b.call(Opcode::Ping, 0), Status::Ok) << "the genuine controller is unaffected";
    EXPECT_EQ(b.be.reserves, 0u);
}

TEST(MailboxSession, AnyBitFlippedInAResponseOrRecordFailsItsMac) {
    Box b;
    b.attach();
    ResponseSlot r;
    ASSERT_EQ(b.call(Opcode::List, 0, nullptr, 0, &r), Status::Ok);
    for (usize byte = 0; byte < sizeof r; ++byte) {
        ResponseSlot x = r;
        reinterpret_cast<u8*>(&x)[byte] ^= static_cast<u8>(1u << (byte % 8));
        EXPECT_EQ(check_response(b.keys.rsp, x), Status::AuthFailed) << "byte " << byte;
    }
    const AuditRecord rec = b.log(2);
    ASSERT_EQ(check_record(b.keys.log, rec), Status::Ok);
    for (usize byte = 0; byte < sizeof rec; ++byte) {
        AuditRecord x = rec;
        reinterpret_cast<u8*>(&x)[byte] ^= static_cast<u8>(1u << (byte % 8));
        EXPECT_EQ(check_record(b.keys.log, x), Status::AuthFailed) << "byte " << byte;
    }
}

TEST(MailboxSession, TamperedHellosEstablishNothing) {
    Box b;
    b.attach(true, {}, 1);
    const u32 active = b.offer().active_id;
    u8 priv[32];
    HelloTranscript t;
    // Flips in the signed fields: offer id, the key, the signature (first and last bytes).
    const usize offs[] = {0, 3, 8, 39, 40, 135};
    for (usize off : offs) {
        b.be.now += kHelloBackoffMs; // each one reaches the verify (no backoff answer)
        CommandSlot s = b.hello(priv, t);
        s.payload[off] ^= 0x10;
        EXPECT_EQ(b.send(s), off < 4 ? Status::Expired : Status::BadSignature)
            << "payload byte " << off;
    }
    // A HELLO carrying a MAC or a session id is malformed before any verify.
    CommandSlot s = b.hello(priv, t);
    s.session_id = 1;
    EXPECT_EQ(b.send(s), Status::InvalidArgument);
    EXPECT_EQ(b.offer().active_id, active) << "the session in force is untouched";
    EXPECT_EQ(b.call(Opcode::Ping, 0), Status::Ok);
}

TEST(MailboxSession, SwappedEphemeralKeysAreRefused) {
    Box b;
    b.attach();
    u8 priv[32];
    HelloTranscript t;
    // The controller's key swapped after signing (a man in the middle's own key).
    CommandSlot s = b.hello(priv, t);
    HelloPayload p;
    memcpy(&p, s.payload, sizeof p);
    p.ctl_pub[0] ^= 0x55;
    memcpy(s.payload, &p, sizeof p);
    EXPECT_EQ(b.send(s), Status::BadSignature);
    b.be.now += kHelloBackoffMs;
    // Keel's key swapped: the controller was shown another key than Keel holds.
    const SessionArea a = b.offer();
    SessionArea fake = a;
    fake.keel_pub[5] ^= 1;
    HelloPayload q{};
    q.offer_id = a.offer_id;
    test::ctl_private(9, priv);
    ASSERT_EQ(crypto::x25519_public(priv, q.ctl_pub, test::host_rng, &b.rng), Status::Ok);
    b.sign_hello(fake, q, t);
    EXPECT_EQ(b.send(b.hello_slot(q)), Status::BadSignature);
    EXPECT_EQ(b.offer().active_id, 1u);
}

TEST(MailboxSession, AFailedHelloHoldsOffTheNextVerifyBriefly) {
    Box b;
    b.attach();
    test::TestKey other{99};
    u8 priv[32];
    HelloTranscript t;
    EXPECT_EQ(b.send(b.hello(priv, t, &other)), Status::BadSignature);
    EXPECT_EQ(b.send(b.hello(priv, t, &other)), Status::Busy) << "no second verify at once";
    EXPECT_EQ(b.send(b.hello(priv, t)), Status::Busy) << "the genuine one waits too";
    b.be.now += kHelloBackoffMs;
    EXPECT_EQ(b.handshake(), Status::Ok) << "and gets through after the backoff";
    EXPECT_EQ(b.call(Opcode::Ping, 0), Status::Ok);
}

// The rejections pending when a new session is established belong to the old session:
// their summary must carry the old session's log MAC, the new session's Session record the
// new one's (docs/mailbox.md §5), so a controller verifying in order accepts both.
TEST(MailboxSession, RejectsBeforeARenewalCarryTheOldSessionsMac) {
    Box b;
    b.attach();
    const SessionKeys k1 = b.keys;
    const u32 log0 = b.hdr().log_prod;
    test::TestKey other{99};
    u8 priv[32];
    HelloTranscript t;
    EXPECT_EQ(b.send(b.hello(priv, t, &other)), Status::BadSignature); // pending, not flushed
    EXPECT_EQ(b.svc->pending_rejects(), 1u);
    b.be.now += kHelloBackoffMs;
    ASSERT_EQ(b.handshake(), Status::Ok);
    ASSERT_EQ(b.hdr().log_prod, log0 + 2) << "the summary, then the Session record";
    const AuditRecord& summary = b.log(log0);
    const AuditRecord& session = b.log(log0 + 1);
    EXPECT_EQ(summary.kind, static_cast<u32>(AuditKind::Rejects));
    EXPECT_EQ(check_record(k1.log, summary), Status::Ok) << "MACed while session 1 was live";
    EXPECT_NE(check_record(b.keys.log, summary), Status::Ok);
    EXPECT_EQ(session.kind, static_cast<u32>(AuditKind::Session));
    EXPECT_EQ(check_record(b.keys.log, session), Status::Ok);
}

TEST(MailboxSession, ForeignControllerKeyIsRefused) {
    Box b;
    b.attach(true);
    test::TestKey other{99};
    u8 priv[32];
    HelloTranscript t;
    EXPECT_EQ(b.send(b.hello(priv, t, &other)), Status::BadSignature);
    EXPECT_EQ(b.offer().active_id, 1u);
}

TEST(MailboxSession, LowOrderControllerKeyIsRefusedEvenWhenSigned) {
    Box b;
    b.attach();
    const SessionArea a = b.offer();
    HelloPayload p{};
    p.offer_id = a.offer_id; // ctl_pub all zero: the all-zero shared secret
    HelloTranscript t;
    b.sign_hello(a, p, t);
    EXPECT_EQ(b.send(b.hello_slot(p)), Status::InvalidArgument);
    EXPECT_EQ(b.offer().active_id, 1u);
}

TEST(MailboxSession, NothingFromAnEarlierBootIsAccepted) {
    Box first;
    first.attach(true, {}, 1);
    u8 priv[32];
    HelloTranscript t;
    const CommandSlot old_hello = first.hello(priv, t); // recorded, never delivered there
    CommandSlot old_cmd = first.make(Opcode::Ping, 0);
    first.mac(old_cmd);
    // The next boot: same controller key, a fresh seed: a new nonce, a new offer.
    Box n2;
    n2.attach(true, {}, 2);
    EXPECT_NE(memcmp(first.hdr().nonce, n2.hdr().nonce, 16), 0);
    EXPECT_NE(memcmp(first.offer().keel_pub, n2.offer().keel_pub, 32), 0);
    CommandSlot replay = old_cmd;
    replay.session_id = n2.session; // same session number, sequence above the new floor
    ASSERT_GT(replay.seq, n2.svc->last_seq());
    EXPECT_EQ(n2.send(replay), Status::AuthFailed) << "the old boot's key MACed it";
    CommandSlot h = old_hello;
    HelloPayload p;
    memcpy(&p, h.payload, sizeof p);
    p.offer_id = n2.offer().offer_id; // re-aimed at the current offer: the signature breaks
    memcpy(h.payload, &p, sizeof p);
    h.seq = n2.seq + 1000;
    EXPECT_EQ(n2.send(h), Status::BadSignature);
    EXPECT_EQ(n2.offer().active_id, 1u);
}

TEST(MailboxSession, ExpiresByCountAndByAgeAndRenews) {
    Box b;
    SessionLimits lim;
    lim.max_commands = 3;
    lim.max_age_ms = 5000;
    b.attach(true, lim);
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(b.call(Opcode::Ping, 0), Status::Ok);
    EXPECT_EQ(b.call(Opcode::Ping, 0), Status::Expired);
    ASSERT_EQ(b.handshake(), Status::Ok);
    EXPECT_EQ(b.session, 2u);
    EXPECT_EQ(b.call(Opcode::Ping, 0), Status::Ok);
    b.be.now += 5000;
    EXPECT_EQ(b.call(Opcode::Ping, 0), Status::Expired);
    ASSERT_EQ(b.handshake(), Status::Ok);
    EXPECT_EQ(b.call(Opcode::Ping, 0), Status::Ok);
}

TEST(MailboxSession, RenewalRetiresTheOldSessionAndItsSequences) {
    Box b;
    b.attach();
    CommandSlot old1 = b.make(Opcode::Ping, 0);
    b.mac(old1); // made in session 1, not yet sent
    EXPECT_EQ(b.call(Opcode::Ping, 0), Status::Ok);
    const SessionKeys k1 = b.keys;
    ASSERT_EQ(b.handshake(), Status::Ok); // renewal at any time
    EXPECT_EQ(b.send(old1), Status::Expired) << "session 1 is gone";
    // Sequence reuse across sessions: a number session 1 already used, MACed with the new key.
    CommandSlot reuse = b.make(Opcode::Ping, 0);
    reuse.seq = old1.seq + 1; // accepted in session 1
    b.mac(reuse);
    EXPECT_EQ(b.send(reuse), Status::Replayed);
    // The old key on the new session id.
    CommandSlot x = b.make(Opcode::Ping, 0);
    ASSERT_EQ(mac_command(k1.cmd, x), Status::Ok);
    EXPECT_EQ(b.send(x), Status::AuthFailed);
    EXPECT_EQ(b.call(Opcode::Ping, 0), Status::Ok);
}

TEST(MailboxSession, WithoutAControllerKeyNothingEstablishes) {
    Box b;
    b.attach(false);
    u8 priv[32];
    HelloTranscript t;
    EXPECT_EQ(b.send(b.hello(priv, t)), Status::AuthFailed);
    EXPECT_EQ(b.call(Opcode::Ping, 0), Status::Expired);
    EXPECT_EQ(b.log(0).status, static_cast<u32>(Status::AuthFailed));
}

TEST(MailboxSession, FloodOfWellFormedJunkIsCountedNotLoggedOneByOne) {
    Box b;
    b.attach();
    const u32 log0 = b.hdr().log_prod;
    u8 kernel[64] = {1, 2, 3};
    u32 junk = 0;
    for (int round = 0; round < 40; ++round) {
        for (int i = 0; i < 25; ++i, ++junk) { // valid session id, wrong MAC
            CommandSlot s = b.make(Opcode::Destroy, 1);
            b.mac(s);
            s.mac[0] ^= 1;
            EXPECT_EQ(b.send(s), Status::AuthFailed);
        }
        if (round == 20) {
            CreateVmPayload p = test::create_payload("vm", sizeof kernel, kernel);
            EXPECT_EQ(b.call(Opcode::CreateVm, 0, &p, sizeof p), Status::Ok)
                << "state changes still succeed during the flood";
        }
    }
    b.be.now += Service::kBurstFlushMs; // the burst ends: summarized
    b.svc->poll();
    b.svc->poll();
    u32 counted = 0, records = 0;
    for (u32 i = log0; i != b.hdr().log_prod; ++i) {
        const AuditRecord& r = b.log(i);
        EXPECT_EQ(check_record(b.keys.log, r), Status::Ok);
        if (r.kind == static_cast<u32>(AuditKind::Rejects)) counted += r.vm_id, ++records;
        EXPECT_NE(r.kind, static_cast<u32>(AuditKind::Rejected)) << "no record per junk command";
    }
    EXPECT_EQ(counted, junk) << "every rejected command is counted";
    EXPECT_LE(records, 3u);
    EXPECT_GE(b.svc->audit().free_slots(), kLogSlots - 8) << "the log stays free";
    EXPECT_EQ(b.svc->pending_rejects(), 0u);
}

} // namespace
} // namespace keel::mailbox
