// The trial after a live update (docs/handover.md §4.7, docs/mailbox.md §3.10): the incoming
// image's Service, having adopted the record, is not committed until UPDATE Commit arrives
// within its deadline. Commit commits once; without it, its poll rolls back: the outgoing
// image restored, every vCPU parked, a rollback record (OldImage flag, the outgoing image's
// own security version, the audit record of the rollback in the chain before it) entered.
// An image that adopts a rollback record answers nothing: no Apply waits.
#include "mailbox_update_fixture.hpp"

namespace keel::update {
namespace {

// What the test's commit did (mailbox_main.cpp's commit_update does the real one).
u32 g_commits = 0;
Status fake_commit(char* what, usize size) {
    ++g_commits;
    snprintf(what, size, "Keel 9.8.7-next, floor 2, 4 MiB of Keel 0.1.0 back");
    return Status::Ok;
}

constexpr u64 kCommitMs = 5000;

struct MailboxTrial : MailboxAdopt {
    OldImageRecord outgoing{}; // the image the incoming one replaced, as the record said
    std::vector<u64> rollback_record = std::vector<u64>(16 * 1024, 0);
    void SetUp() override {
        MailboxAdopt::SetUp();
        g_commits = 0;
        apply_and_rewind();
        ASSERT_EQ(incoming->adopt(mailbox::SharedRegion(b.bytes(), mailbox::test::kRegion), b.be,
                                  b.key.pub, mailbox::test::test_seed(77), {}, v, "9.8.7-next",
                                  1234, kCommitMs),
                  Status::Ok);
        outgoing = *v.old_image;
        // As mailbox_continue sets it: the outgoing image's region, its record buffer.
        mailbox::Service::UpdateSetup up;
        up.region = region.data();
        up.region_size = region.size();
        up.record = reinterpret_cast<u8*>(rollback_record.data());
        up.record_size = rollback_record.size() * 8;
        up.expect = arm64_expect();
        up.swap = &swap;
        up.outgoing = &outgoing;
        up.outgoing_abi = v.header.abi_version;
        incoming->set_update(up);
        incoming->begin_trial(kCommitMs, fake_commit);
        swap.seen.clear();
        // The Apply's answer, read as the controller would.
        const mailbox::ResponseSlot r = b.resp(b.resp_seen++);
        b.hdr().resp_cons = b.resp_seen;
        memcpy(&applied, r.payload, sizeof applied);
        b.svc = std::move(incoming);
    }
    mailbox::UpdateReply applied{};
    std::string detail(u32 index) {
        return std::string(reinterpret_cast<const char*>(b.log(index).detail));
    }
};

TEST_F(MailboxTrial, TheApplysAnswerNamesTheDeadline) {
    EXPECT_NE(std::string(applied.message).find("; vCPUs back in 1234 ns; commit within 5000 ms"),
              std::string::npos)
        << applied.message;
    EXPECT_TRUE(b.svc->in_trial());
}

TEST_F(MailboxTrial, CommitWithinTheDeadlineCommitsOnce) {
    b.be.now += kCommitMs - 1;
    mailbox::UpdateReply out{};
    EXPECT_EQ(step(mailbox::UpdateStep::Commit, 0, 0, 0, &out), Status::Ok) << out.message;
    EXPECT_STREQ(out.message, "Keel 9.8.7-next, floor 2, 4 MiB of Keel 0.1.0 back");
    EXPECT_EQ(g_commits, 1u);
    EXPECT_FALSE(b.svc->in_trial());
    EXPECT_EQ(last_detail(), "update commit: ok");
    // Past the deadline now: nothing rolls back any more, and a second Commit is refused.
    b.be.now += 10 * kCommitMs;
    (void)b.svc->poll();
    EXPECT_EQ(swap.restores, 0u);
    EXPECT_EQ(swap.quiesces, 1u) << "only the Apply's";
    EXPECT_EQ(step(mailbox::UpdateStep::Commit, 0, 0, 0, &out), Status::BadState);
    EXPECT_STREQ(out.message, "no update awaits a commit");
    EXPECT_EQ(g_commits, 1u);
}

TEST_F(MailboxTrial, NothingIsStagedBeforeTheCommit) {
    b.be.now += 1000;
    mailbox::UpdateReply out{};
    for (mailbox::UpdateStep st :
         {mailbox::UpdateStep::Begin, mailbox::UpdateStep::Verify, mailbox::UpdateStep::Apply}) {
        EXPECT_EQ(step(st, st == mailbox::UpdateStep::Begin ? 4096 : 0, 0, 0, &out),
                  Status::BadState);
        EXPECT_STREQ(out.message,
                     "update 1 is not committed: Commit it, or it rolls back in 4000 ms");
    }
    EXPECT_EQ(swap.enters, 1u) << "only the Apply's";
    EXPECT_EQ(g_commits, 0u);
    EXPECT_TRUE(b.svc->in_trial());
}

// No Commit: at the deadline the service rolls back. The fake outgoing image hands back
// (adoption refused), so this image runs on, not committed, and Commit still counts.
TEST_F(MailboxTrial, NoCommitRollsBackWithARollbackRecord) {
    b.be.now += kCommitMs - 1;
    (void)b.svc->poll();
    EXPECT_EQ(swap.restores, 0u) << "not before the deadline";
    b.be.now += 1;
    const u32 next = static_cast<u32>(b.svc->audit().next_index());
    (void)b.svc->poll();
    EXPECT_EQ(swap.restores, 1u);
    EXPECT_EQ(swap.quiesces, 2u);
    EXPECT_EQ(swap.outgoing_enters, 1u);
    EXPECT_EQ(swap.enters, 1u) << "never into the run slot";
    EXPECT_EQ(swap.resumes, 2u) << "handed back: every vCPU runs on";
    HandoverView r;
    ASSERT_EQ(parse_handover(swap.seen.data(), swap.seen.size(), kHandoverAbiMin, kHandoverAbi, r),
              Status::Ok);
    EXPECT_EQ(r.old_image->flags, kOldImageRollback);
    EXPECT_EQ(r.old_image->incoming_security_version, outgoing.security_version)
        << "the image entered is the one replaced: its own security version";
    EXPECT_EQ(r.old_image->security_floor, outgoing.security_floor) << "no floor raised";
    EXPECT_EQ(r.header.update_counter, v.header.update_counter + 1);
    EXPECT_EQ(r.vm_count, 2u);
    // The rollback's audit record is in the chain before the record: the image entered goes
    // on after it.
    EXPECT_EQ(detail(next), "update rolled back: no commit in time");
    EXPECT_EQ(static_cast<Status>(b.log(next).status), Status::Timeout);
    EXPECT_EQ(r.mailbox->audit_next_index, next + 1);
    // Handed back: said in the chain, and the record (session keys among it) wiped.
    EXPECT_EQ(detail(next + 1), "update not rolled back: unsupported");
    for (u64 w : rollback_record)
        ASSERT_EQ(w, 0u);
    EXPECT_TRUE(b.svc->in_trial());
    b.be.now += 10 * kCommitMs;
    (void)b.svc->poll();
    EXPECT_EQ(swap.restores, 1u) << "once: no deadline any more";
    mailbox::UpdateReply out{};
    EXPECT_EQ(step(mailbox::UpdateStep::Commit, 0, 0, 0, &out), Status::Ok);
    EXPECT_EQ(g_commits, 1u);
}

TEST_F(MailboxTrial, AnOutgoingImageThatCannotBeRestoredIsNotEntered) {
    swap.restore_result = Status::NoMemory;
    b.be.now += kCommitMs;
    (void)b.svc->poll();
    EXPECT_EQ(swap.restores, 1u);
    EXPECT_EQ(swap.quiesces, 1u) << "nothing parked for it";
    EXPECT_EQ(swap.outgoing_enters, 0u);
    EXPECT_EQ(last_detail(), "update not rolled back: no memory");
    EXPECT_TRUE(b.svc->in_trial());
}

// The image that takes a rollback record (the outgoing one, back) has no Apply to answer: it
// writes no response, consumes no command, and its chain goes on from the rollback's record.
TEST_F(MailboxTrial, TheRollbackRecordIsAdoptedWithoutAnAnswer) {
    swap.outgoing_answer = HandBack{HandBackReason::HealthCheck, Status::Ok};
    b.be.now += kCommitMs;
    const u32 resp_before = b.hdr().resp_prod;
    const u32 cons_before = b.hdr().cmd_cons;
    (void)b.svc->poll();
    HandoverView r;
    ASSERT_EQ(parse_handover(swap.seen.data(), swap.seen.size(), kHandoverAbiMin, kHandoverAbi, r),
              Status::Ok);
    const u64 next = r.mailbox->audit_next_index; // the hand back's record there is overwritten
    mailbox::Service back;
    ASSERT_EQ(back.adopt(mailbox::SharedRegion(b.bytes(), mailbox::test::kRegion), b.be, b.key.pub,
                         mailbox::test::test_seed(78), {}, r, "0.1.0"),
              Status::Ok);
    EXPECT_EQ(b.hdr().resp_prod, resp_before) << "no answer";
    EXPECT_EQ(b.hdr().cmd_cons, cons_before) << "no command consumed";
    EXPECT_EQ(back.audit().next_index(), next);
    EXPECT_FALSE(back.in_trial());
    back.update_committed("rollback committed: floor 1, 4 MiB back");
    EXPECT_EQ(detail(static_cast<u32>(next)), "rollback committed: floor 1, 4 MiB back");
    EXPECT_EQ(memcmp(
                  b.log(static_cast<u32>(next)).prev_hash,
                  [&] {
                      static u8 h[32];
                      crypto::sha256(&b.log(static_cast<u32>(next - 1)),
                                     sizeof(mailbox::AuditRecord), h);
                      return h;
                  }(),
                  32),
              0)
        << "chained to the rollback's own record";
}

} // namespace
} // namespace keel::update
