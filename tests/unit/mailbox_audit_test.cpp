// The audit log (hypervisor/mailbox/audit.cpp, docs/mailbox.md §5): hash linkage,
// detection of rewritten / missing / reordered records, and log-full behaviour
// (state-changing commands refused while read-only ones answer, unread records never
// overwritten, a Gap record with the count once room returns).
#include "hypervisor/mailbox/audit.hpp"

#include "tests/unit/mailbox_test_util.hpp"

namespace keel::mailbox {
namespace {

using test::Box;

// Posts `n` malformed commands: they are answered and counted, and summarized in one
// Rejects record once the burst ends (a poll without new ones), §4.4.
void junk(Box& b, u32 n) {
    for (u32 i = 0; i < n; ++i) {
        CommandSlot s = b.make(Opcode::Ping, 0);
        s.flags = 1;
        EXPECT_EQ(b.send(s), Status::InvalidArgument);
    }
}
// `n` accepted PINGs: one Command record each.
void pings(Box& b, u32 n) {
    for (u32 i = 0; i < n; ++i)
        EXPECT_EQ(b.call(Opcode::Ping, 0), Status::Ok);
}

std::vector<AuditRecord> pull(Box& b) {
    std::vector<AuditRecord> out;
    for (u32 i = b.hdr().log_cons; i != b.hdr().log_prod; ++i)
        out.push_back(b.log(i));
    b.hdr().log_cons = b.hdr().log_prod;
    return out;
}

TEST(MailboxAudit, ChainStartsAtTheNonceAndLinksEveryRecord) {
    Box b;
    b.attach();
    ASSERT_EQ(b.call(Opcode::Ping, 0), Status::Ok);
    junk(b, 3);
    b.svc->poll(); // the burst ended
    std::vector<AuditRecord> r = pull(b);
    ASSERT_EQ(r.size(), 4u); // boot, session, the PING, one summary of three rejections
    u8 h[32];
    audit_chain_start(b.hdr().nonce, h);
    EXPECT_EQ(memcmp(r[0].prev_hash, h, 32), 0);
    for (usize i = 1; i < r.size(); ++i) {
        crypto::sha256(&r[i - 1], sizeof r[i - 1], h);
        EXPECT_EQ(memcmp(r[i].prev_hash, h, 32), 0) << i;
        EXPECT_EQ(r[i].index, i);
    }
    EXPECT_EQ(r[1].kind, static_cast<u32>(AuditKind::Session));
    EXPECT_EQ(r[2].kind, static_cast<u32>(AuditKind::Command));
    EXPECT_EQ(r[2].seq, 102u);
    EXPECT_EQ(r[3].kind, static_cast<u32>(AuditKind::Rejects));
    EXPECT_EQ(r[3].vm_id, 3u) << "the count";
    EXPECT_EQ(r[3].seq, 105u) << "the last rejected sequence";
    u8 prev[32];
    audit_chain_start(b.hdr().nonce, prev);
    usize bad = 99;
    EXPECT_EQ(audit_verify(r.data(), r.size(), prev, 0, &bad), Status::Ok);
    crypto::sha256(&r.back(), sizeof r.back(), h);
    EXPECT_EQ(memcmp(prev, h, 32), 0) << "prev becomes the head for the next pull";
}

struct MailboxChain : ::testing::Test {
    Box b;
    std::vector<AuditRecord> r;
    u8 start[32];
    void SetUp() override {
        b.attach();
        pings(b, 6);
        r = pull(b);
        audit_chain_start(b.hdr().nonce, start);
    }
    Status verify(const std::vector<AuditRecord>& v, usize* bad) {
        u8 prev[32];
        memcpy(prev, start, 32);
        return audit_verify(v.data(), v.size(), prev, 0, bad);
    }
};

TEST_F(MailboxChain, RewrittenRecordIsDetectedAtItsSuccessor) {
    std::vector<AuditRecord> v = r;
    v[3].status = 13; // an attacker turns a success into a failure
    usize bad = 0;
    EXPECT_EQ(verify(v, &bad), Status::Corrupt);
    EXPECT_EQ(bad, 4u);
}

TEST_F(MailboxChain, RewriteThatFixesTheNextPrevHashBreaksTheOneAfter) {
    std::vector<AuditRecord> v = r;
    v[3].status = 13;
    crypto::sha256(&v[3], sizeof v[3], v[4].prev_hash);
    usize bad = 0;
    EXPECT_EQ(verify(v, &bad), Status::Corrupt);
    EXPECT_EQ(bad, 5u);
}

TEST_F(MailboxChain, MissingRecordIsDetected) {
    std::vector<AuditRecord> v = r;
    v.erase(v.begin() + 2);
    usize bad = 0;
    EXPECT_EQ(verify(v, &bad), Status::Corrupt);
    EXPECT_EQ(bad, 2u);
}

TEST_F(MailboxChain, MissingRecordWithRenumberedIndicesIsStillDetected) {
    std::vector<AuditRecord> v = r;
    v.erase(v.begin() + 2);
    for (usize i = 0; i < v.size(); ++i)
        v[i].index = i;
    usize bad = 0;
    EXPECT_EQ(verify(v, &bad), Status::Corrupt);
    EXPECT_EQ(bad, 2u);
}

TEST_F(MailboxChain, ReorderedRecordsAreDetected) {
    std::vector<AuditRecord> v = r;
    std::swap(v[4], v[5]);
    usize bad = 0;
    EXPECT_EQ(verify(v, &bad), Status::Corrupt);
    EXPECT_EQ(bad, 4u);
}

TEST_F(MailboxChain, ForgedFirstRecordIsDetected) {
    std::vector<AuditRecord> v = r;
    v[0].prev_hash[0] ^= 1;
    usize bad = 9;
    EXPECT_EQ(verify(v, &bad), Status::Corrupt);
    EXPECT_EQ(bad, 0u);
}

TEST(MailboxAudit, LogFullRefusesStateChangesButAnswersReads) {
    Box b;
    b.attach();
    // Boot and session records; fill until exactly kLogReserve - 1 slots are free.
    pings(b, kLogSlots - 2 - (kLogReserve - 1));
    ASSERT_EQ(b.svc->audit().free_slots(), kLogReserve - 1);
    const u32 reserves = b.be.reserves;
    u8 kernel[64] = {};
    CreateVmPayload p = test::create_payload("vm", sizeof kernel, kernel);
    EXPECT_EQ(b.call(Opcode::CreateVm, 0, &p, sizeof p), Status::LogFull);
    EXPECT_EQ(b.be.reserves, reserves) << "refused before acting";
    EXPECT_EQ(b.call(Opcode::Ping, 0), Status::Ok) << "read-only commands still answer";
    EXPECT_EQ(b.call(Opcode::List, 0), Status::Ok);
    // Fill the rest: from here on every answer is LogFull and nothing is recorded.
    while (b.svc->audit().free_slots() != 0)
        (void)b.call(Opcode::Ping, 0);
    std::vector<u8> before(b.bytes() + kLogRingOffset,
                           b.bytes() + kLogRingOffset + kLogSlots * sizeof(AuditRecord));
    const u32 prod = b.hdr().log_prod;
    EXPECT_EQ(b.call(Opcode::Ping, 0), Status::LogFull);
    CommandSlot s = b.make(Opcode::Ping, 0);
    s.flags = 1;
    EXPECT_EQ(b.send(s), Status::InvalidArgument) << "still answered; its record waits";
    b.svc->poll();
    EXPECT_EQ(b.hdr().log_prod, prod);
    EXPECT_EQ(memcmp(before.data(), b.bytes() + kLogRingOffset, before.size()), 0)
        << "unread records untouched";
    EXPECT_EQ(b.svc->pending_rejects(), 2u) << "counted, waiting for room";

    // The controller pulls everything: the summary of the two comes first, chained.
    std::vector<AuditRecord> all = pull(b);
    ASSERT_EQ(all.size(), kLogSlots);
    u8 prev[32];
    audit_chain_start(b.hdr().nonce, prev);
    usize bad = 0;
    ASSERT_EQ(audit_verify(all.data(), all.size(), prev, 0, &bad), Status::Ok) << bad;
    EXPECT_EQ(b.call(Opcode::Ping, 0), Status::Ok);
    std::vector<AuditRecord> more = pull(b);
    ASSERT_EQ(more.size(), 2u);
    EXPECT_EQ(more[0].kind, static_cast<u32>(AuditKind::Rejects));
    EXPECT_EQ(more[0].vm_id, 2u) << "the summary carries the number of rejected commands";
    EXPECT_EQ(more[1].kind, static_cast<u32>(AuditKind::Command));
    EXPECT_EQ(audit_verify(more.data(), more.size(), prev, kLogSlots, &bad), Status::Ok);
    for (const AuditRecord& r : more)
        EXPECT_EQ(check_record(b.keys.log, r), Status::Ok);
}

TEST(MailboxAudit, HostileLogConsumerCountsAsFull) {
    Box b;
    b.attach();
    b.hdr().log_cons = 0xdead0000u; // ahead of / far from log_prod
    EXPECT_EQ(b.svc->audit().free_slots(), 0u);
    EXPECT_EQ(b.call(Opcode::Ping, 0), Status::LogFull);
    EXPECT_EQ(b.hdr().log_prod, 2u) << "only the boot and session records";
}

} // namespace
} // namespace keel::mailbox

namespace keel::mailbox {
namespace {

// Live update (docs/handover.md §2.2 Mailbox: audit_next_index, audit_head, log_prod,
// unlogged): a writer of another image that adopts the recorded chain head and indices
// continues the chain, so the controller verifies one unbroken chain across the swap
// (docs/mailbox.md §5: each record carries the SHA-256 of the one before, indices count
// up by one). A wrong head breaks it, and that is what a verifier sees.
struct AdoptedChain : ::testing::Test {
    std::unique_ptr<u64[]> mem{new u64[test::kRegion / 8]()};
    SharedRegion region{mem.get(), test::kRegion};
    u8 nonce[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    Header& hdr() { return *reinterpret_cast<Header*>(mem.get()); }
    AuditRecord slot(u32 i) {
        AuditRecord r;
        memcpy(&r, reinterpret_cast<u8*>(mem.get()) + kLogRingOffset + (i % kLogSlots) * sizeof r,
               sizeof r);
        return r;
    }
    std::vector<AuditRecord> all() {
        std::vector<AuditRecord> v;
        for (u32 i = 0; i != hdr().log_prod; ++i)
            v.push_back(slot(i));
        return v;
    }
    // The old image writes three records, "hands over", the new one writes two.
    std::vector<AuditRecord> across_swap(bool damage_head) {
        AuditWriter old_image;
        old_image.init(&region, nonce);
        for (u32 i = 0; i < 3; ++i)
            EXPECT_TRUE(old_image.append(AuditKind::Command, i, 100 + i, 1, Status::Ok, 0, "old"));
        u8 head[32];
        memcpy(head, old_image.head(), 32);
        if (damage_head) head[0] ^= 1;
        AuditWriter new_image; // another image's object: nothing carried but the record
        new_image.adopt(&region, head, old_image.next_index(), old_image.prod(),
                        old_image.unlogged());
        EXPECT_TRUE(new_image.append(AuditKind::Command, 9, 200, 1, Status::Ok, 0, "new"));
        EXPECT_TRUE(new_image.append(AuditKind::Command, 10, 201, 1, Status::Ok, 0, "new"));
        return all();
    }
};

TEST_F(AdoptedChain, ContinuesAcrossTheSwap) {
    std::vector<AuditRecord> r = across_swap(false);
    ASSERT_EQ(r.size(), 5u);
    EXPECT_EQ(r[3].index, 3u);
    EXPECT_EQ(memcmp(r[3].detail, "new", 4), 0);
    // The chain as docs/mailbox.md §5 defines it, recomputed here.
    u8 h[32];
    audit_chain_start(nonce, h);
    for (usize i = 0; i < r.size(); ++i) {
        EXPECT_EQ(memcmp(r[i].prev_hash, h, 32), 0) << i;
        crypto::sha256(&r[i], sizeof r[i], h);
    }
    u8 prev[32];
    audit_chain_start(nonce, prev);
    usize bad = 99;
    EXPECT_EQ(audit_verify(r.data(), r.size(), prev, 0, &bad), Status::Ok);
}

TEST_F(AdoptedChain, AWrongHeadBreaksItAtTheFirstNewRecord) {
    std::vector<AuditRecord> r = across_swap(true);
    u8 prev[32];
    audit_chain_start(nonce, prev);
    usize bad = 99;
    EXPECT_EQ(audit_verify(r.data(), r.size(), prev, 0, &bad), Status::Corrupt);
    EXPECT_EQ(bad, 3u);
}

} // namespace
} // namespace keel::mailbox
