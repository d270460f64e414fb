// Console rings (hypervisor/mailbox/console.cpp, docs/mailbox.md §6): console-out goes
// to shared memory only at flush and drops oldest when more than a ring is pending;
// console-in is all-or-nothing per CONSOLE_WRITE, fed to the UART until it is Busy.
#include "hypervisor/mailbox/console.hpp"

#include <string>

#include "tests/unit/mailbox_test_util.hpp"

namespace keel::mailbox {
namespace {

std::string ring_text(test::Box& b, u32 id, u32 from, u32 to) {
    std::string s;
    for (u32 i = from; i != to; ++i)
        s += static_cast<char>(b.bytes()[console_out_offset(id - 1) + i % kConsoleOutBytes]);
    return s;
}

TEST(MailboxConsole, OutReachesSharedMemoryOnlyAtFlush) {
    test::Box b;
    b.attach();
    b.svc->console_out(2, "hello\n", 6);
    EXPECT_EQ(b.hdr().console_out_prod[1], 0u) << "nothing published from the guest's core";
    EXPECT_EQ(b.bytes()[console_out_offset(1)], 0) << "nor written";
    b.svc->poll();
    EXPECT_EQ(b.hdr().console_out_prod[1], 6u);
    EXPECT_EQ(ring_text(b, 2, 0, 6), "hello\n");
    EXPECT_EQ(b.hdr().console_out_prod[0], 0u) << "other VMs untouched";
    b.svc->console_out(2, "abc", 3); // unaligned tail
    b.svc->poll();
    EXPECT_EQ(ring_text(b, 2, 0, 9), "hello\nabc");
}

TEST(MailboxConsole, OutDropsOldestWhenTheControllerLags) {
    test::Box b;
    b.attach();
    std::string all;
    for (u32 i = 0; i < kConsoleOutBytes + 1000; ++i)
        all += static_cast<char>('a' + i % 26);
    b.svc->console_out(1, all.data(), all.size());
    b.svc->poll();
    const u32 prod = b.hdr().console_out_prod[0];
    EXPECT_EQ(prod, all.size()) << "the index counts every byte, so the reader sees the loss";
    EXPECT_EQ(ring_text(b, 1, prod - kConsoleOutBytes, prod),
              all.substr(all.size() - kConsoleOutBytes));
}

TEST(MailboxConsole, OutIgnoresBadIds) {
    ConsoleRings c;
    c.out(0, "x", 1);
    c.out(kMaxVms + 1, "x", 1);
    EXPECT_EQ(c.out_count(1), 0u);
}

struct MailboxConsoleIn : ::testing::Test {
    test::Box b;
    u8 kernel[64] = {1};
    void SetUp() override {
        memcpy(b.bytes() + kBulkOffset, kernel, sizeof kernel);
        b.attach();
        CreateVmPayload p = test::create_payload("vm", sizeof kernel, kernel);
        ASSERT_EQ(b.call(Opcode::CreateVm, 0, &p, sizeof p), Status::Ok);
        LoadImagePayload l{0, 0, 0, 0, sizeof kernel};
        ASSERT_EQ(b.call(Opcode::LoadImage, 1, &l, sizeof l), Status::Ok);
    }
    Status write(const char* text, u32 n) {
        ConsoleWritePayload w{};
        w.length = n;
        memcpy(w.bytes, text, n);
        return b.call(Opcode::ConsoleWrite, 1, &w, 8 + n);
    }
    std::string got() { return std::string(b.be.console_in[1].begin(), b.be.console_in[1].end()); }
};

TEST_F(MailboxConsoleIn, OnlyARunningVmTakesInput) {
    EXPECT_EQ(write("x", 1), Status::BadState);
    ASSERT_EQ(b.call(Opcode::Start, 1), Status::Ok);
    EXPECT_EQ(write("ls\n", 3), Status::Ok);
    EXPECT_EQ(got(), "ls\n");
}

TEST_F(MailboxConsoleIn, BusyUartGetsTheRestOnLaterPolls) {
    ASSERT_EQ(b.call(Opcode::Start, 1), Status::Ok);
    b.be.console_room = 2;
    EXPECT_EQ(write("abcdef", 6), Status::Ok) << "queued: accepted";
    EXPECT_EQ(got(), "ab");
    b.svc->poll();
    EXPECT_EQ(got(), "ab") << "still full";
    b.be.console_room = 100;
    b.svc->poll();
    EXPECT_EQ(got(), "abcdef") << "in order, nothing lost";
}

TEST_F(MailboxConsoleIn, QueueIsBoundedAndWritesAreAllOrNothing) {
    ASSERT_EQ(b.call(Opcode::Start, 1), Status::Ok);
    b.be.console_room = 0;
    char chunk[kConsoleWriteMax];
    memset(chunk, 'q', sizeof chunk);
    for (u32 i = 0; i < kConsoleInBytes / kConsoleWriteMax; ++i)
        EXPECT_EQ(write(chunk, sizeof chunk), Status::Ok);
    EXPECT_EQ(write("z", 1), Status::Busy) << "full: refused whole, the controller retries";
    EXPECT_EQ(b.svc->consoles().queued_in(1), kConsoleInBytes);
    b.be.console_room = ~0u;
    b.svc->poll();
    EXPECT_EQ(b.be.console_in[1].size(), kConsoleInBytes);
    EXPECT_EQ(got().find('z'), std::string::npos);
}

TEST_F(MailboxConsoleIn, NoReceivePathAnswersUnsupportedAndKeepsNothing) {
    ASSERT_EQ(b.call(Opcode::Start, 1), Status::Ok);
    b.be.console_result = Status::Unsupported;
    EXPECT_EQ(write("abc", 3), Status::Unsupported);
    EXPECT_EQ(b.svc->consoles().queued_in(1), 0u);
}

TEST_F(MailboxConsoleIn, QueuedInputIsDroppedWhenTheGuestEnds) {
    ASSERT_EQ(b.call(Opcode::Start, 1), Status::Ok);
    b.be.console_room = 0;
    ASSERT_EQ(write("abc", 3), Status::Ok);
    b.be.ended_flag[1] = true;
    b.svc->poll();
    EXPECT_EQ(b.svc->consoles().queued_in(1), 0u);
}

} // namespace
} // namespace keel::mailbox
