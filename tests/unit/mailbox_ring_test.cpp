// Ring index math (hypervisor/mailbox/ring.hpp) and how the service treats indices a
// hostile controller writes (docs/mailbox.md §3.6).
#include "hypervisor/mailbox/ring.hpp"

#include "tests/unit/mailbox_test_util.hpp"

namespace keel::mailbox {
namespace {

TEST(MailboxRing, PendingCountsAcrossTheU32Wrap) {
    EXPECT_EQ(ring_pending(0, 0, 32).value(), 0u);
    EXPECT_EQ(ring_pending(5, 3, 32).value(), 2u);
    // Free-running counters: prod wrapped past 2^32, cons did not yet.
    EXPECT_EQ(ring_pending(2, 0xfffffffeu, 32).value(), 4u);
    EXPECT_EQ(ring_pending(32, 0, 32).value(), 32u); // exactly full is legal
}

TEST(MailboxRing, PendingRefusesImpossibleProducer) {
    EXPECT_EQ(ring_pending(33, 0, 32).status(), Status::OutOfRange); // more than a ring
    EXPECT_EQ(ring_pending(0, 1, 32).status(), Status::OutOfRange);  // behind the consumer
    EXPECT_EQ(ring_pending(0xffffffffu, 0, 32).status(), Status::OutOfRange);
}

TEST(MailboxRing, FreeTreatsHostileConsumerAsFull) {
    EXPECT_EQ(ring_free(0, 0, 32), 32u);
    EXPECT_EQ(ring_free(32, 0, 32), 0u); // full: nothing unread is overwritten
    EXPECT_EQ(ring_free(40, 10, 32), 2u);
    EXPECT_EQ(ring_free(1, 0xffffffffu, 32), 30u); // across the wrap
    EXPECT_EQ(ring_free(10, 11, 32), 0u);          // consumer ahead of producer
    EXPECT_EQ(ring_free(100, 0, 32), 0u);          // consumer more than a ring behind
}

TEST(MailboxRing, SlotIsIndexModSlots) {
    EXPECT_EQ(ring_slot(0, 32), 0u);
    EXPECT_EQ(ring_slot(33, 32), 1u);
    EXPECT_EQ(ring_slot(0xffffffffu, 256), 255u);
}

using test::Box;

TEST(MailboxRing, ServiceIgnoresAndLogsABadProducerIndexOnce) {
    Box b;
    b.attach();
    const u32 log_before = b.hdr().log_prod;
    b.hdr().cmd_prod = b.hdr().cmd_cons + kCmdSlots + 1; // impossible
    EXPECT_EQ(b.svc->poll(), 0u);
    EXPECT_EQ(b.svc->poll(), 0u);
    EXPECT_EQ(b.hdr().cmd_cons, 1u) << "nothing consumed (the HELLO was the 1st)";
    EXPECT_EQ(b.hdr().resp_prod, 2u) << "one OutOfRange answer";
    EXPECT_EQ(b.resp(1).status, static_cast<u32>(Status::OutOfRange));
    EXPECT_EQ(b.hdr().log_prod, log_before + 1) << "one record, not one per poll";
    // The controller repairs its index: service resumes.
    b.hdr().cmd_prod = 1;
    b.resp_seen = 2;
    b.hdr().resp_cons = 2;
    EXPECT_EQ(b.call(Opcode::Ping, 0), Status::Ok);
}

TEST(MailboxRing, ServiceNeverOverwritesUnreadResponses) {
    Box b;
    b.attach();
    // The controller never pulls: after kRespSlots answers the service must stop consuming.
    auto post_signed = [&](u32 n) {
        for (u32 i = 0; i < n; ++i) {
            CommandSlot s = b.make(Opcode::Ping, 0);
            b.mac(s);
            b.post(s);
        }
    };
    post_signed(kCmdSlots); // a full command ring (the most the controller may queue)
    for (int i = 0; i < 20; ++i)
        b.svc->poll();
    EXPECT_EQ(b.hdr().resp_prod, 1 + kRespSlots); // after the HELLO's, pulled by the Box
    post_signed(3);
    for (int i = 0; i < 5; ++i)
        b.svc->poll();
    EXPECT_EQ(b.hdr().resp_prod, 1 + kRespSlots);
    EXPECT_EQ(b.hdr().cmd_cons, 1 + kCmdSlots) << "commands beyond response room stay queued";
    EXPECT_EQ(b.resp(1).seq, 102u) << "the oldest response is intact";
    b.hdr().resp_cons = 1 + kRespSlots; // pulled everything
    b.svc->poll();
    EXPECT_EQ(b.hdr().cmd_cons, 1 + kCmdSlots + 3);
    EXPECT_EQ(b.resp(1 + kRespSlots).seq, 102u + kCmdSlots);
}

TEST(MailboxRing, HostileResponseConsumerStallsInsteadOfOverwriting) {
    Box b;
    b.attach();
    b.hdr().resp_cons = 12345; // ahead of resp_prod: counts as full
    CommandSlot s = b.make(Opcode::Ping, 0);
    b.mac(s);
    b.post(s);
    EXPECT_EQ(b.svc->poll(), 0u);
    EXPECT_EQ(b.hdr().resp_prod, 1u) << "only the HELLO's answer";
}

TEST(MailboxRing, PollIsBoundedPerRound) {
    Box b;
    b.attach();
    for (u32 i = 0; i < 10; ++i)
        b.post(b.make(Opcode::Ping, 0)); // unsigned junk: cheap rejects
    EXPECT_EQ(b.svc->poll(), Service::kMaxPerPoll);
}

TEST(MailboxRing, StaleCommandsFromAnEarlierBootAreSkipped) {
    Box b;
    b.hdr().cmd_prod = 7; // left over in the BAR
    b.hdr().resp_cons = 3;
    b.attach(false); // no handshake: the Box's own bookkeeping starts at 0
    EXPECT_EQ(b.hdr().cmd_cons, 7u);
    EXPECT_EQ(b.hdr().resp_prod, 3u);
    EXPECT_EQ(b.svc->poll(), 0u);
}

TEST(MailboxRing, AttachRefusesARegionSmallerThanTheLayout) {
    test::FakeBackend be;
    std::unique_ptr<u64[]> mem(new u64[kMinRegionSize / 8]());
    std::unique_ptr<Service> svc(new Service());
    u8 key[crypto::kP384PublicKeySize] = {};
    const entropy::Seed seed = test::test_seed(1);
    EXPECT_EQ(svc->attach(SharedRegion(mem.get(), kMinRegionSize - 4096), be, key, seed),
              Status::OutOfRange);
    EXPECT_EQ(reinterpret_cast<Header*>(mem.get())->magic, 0u) << "nothing written";
    EXPECT_EQ(svc->attach(SharedRegion(mem.get(), kMinRegionSize), be, key, seed), Status::Ok);
    EXPECT_EQ(reinterpret_cast<Header*>(mem.get())->magic, kMagic);
}

TEST(MailboxShared, AccessesAreBoundedAndAligned) {
    alignas(8) u8 buf[64] = {};
    SharedRegion r(buf, sizeof buf);
    u8 out[8];
    EXPECT_EQ(r.copy_in(60, out, 8), Status::OutOfRange);
    EXPECT_EQ(r.copy_in(~0ull - 3, out, 8), Status::OutOfRange) << "offset + len wraps";
    EXPECT_EQ(r.copy_in(2, out, 4), Status::InvalidArgument)
        << "unaligned: would fault on Device memory";
    EXPECT_EQ(r.copy_out(56, out, 8), Status::Ok);
    EXPECT_EQ(r.read32(64), 0u);
    r.write32(64, 5); // dropped, not written past the end
    EXPECT_FALSE(r.contains(65, 0));
}

} // namespace
} // namespace keel::mailbox
