// decode_command (hypervisor/mailbox/command.cpp): every header field and payload field
// bound, oversize lengths, unknown opcodes, garbage (docs/mailbox.md §3, §3.7).
#include "hypervisor/mailbox/command.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace keel::mailbox {
namespace {

constexpr u64 kBulk = 4 * MiB - kBulkOffset;

CommandSlot slot(Opcode op, u32 vm, const void* p = nullptr, u32 len = 0) {
    CommandSlot s{};
    s.seq = 1;
    s.opcode = static_cast<u16>(op);
    s.vm_id = vm;
    s.length = len;
    if (len) memcpy(s.payload, p, len);
    return s;
}

Status decode(const CommandSlot& s) {
    DecodeLimits l;
    l.bulk_size = kBulk;
    Command c;
    return decode_command(s, l, c);
}

CreateVmPayload good_create() {
    CreateVmPayload p{};
    memcpy(p.name, "web-1_A", 7);
    p.cpu_mask = 2;
    p.mem_bytes = 64 * MiB;
    p.kernel_size = 4096;
    memcpy(p.cmdline, "console=ttyAMA0", 15);
    return p;
}

Status create(const CreateVmPayload& p) { return decode(slot(Opcode::CreateVm, 0, &p, sizeof p)); }

TEST(MailboxDecode, AcceptsWellFormedCommands) {
    EXPECT_EQ(decode(slot(Opcode::Ping, 0)), Status::Ok);
    EXPECT_EQ(decode(slot(Opcode::List, 0)), Status::Ok);
    for (Opcode op : {Opcode::Start, Opcode::Destroy, Opcode::Describe, Opcode::Metrics})
        EXPECT_EQ(decode(slot(op, kMaxVms)), Status::Ok);
    EXPECT_EQ(create(good_create()), Status::Ok);
    StopPayload st{250, 0};
    EXPECT_EQ(decode(slot(Opcode::Stop, 1, &st, sizeof st)), Status::Ok);
}

TEST(MailboxDecode, UnknownOpcodes) {
    for (u16 op : {u16{0}, u16{kOpcodeMax + 1}, u16{0xffff}}) {
        CommandSlot s = slot(Opcode::Ping, 0);
        s.opcode = op;
        EXPECT_EQ(decode(s), Status::Unsupported) << op;
    }
}

TEST(MailboxDecode, HeaderFieldsBound) {
    CommandSlot s = slot(Opcode::Ping, 0);
    s.seq = 0;
    EXPECT_EQ(decode(s), Status::InvalidArgument) << "seq 0 is never valid";
    s = slot(Opcode::Ping, 0);
    s.flags = 1;
    EXPECT_EQ(decode(s), Status::InvalidArgument);
    s = slot(Opcode::Ping, 0);
    s.reserved = 0x80000000u;
    EXPECT_EQ(decode(s), Status::InvalidArgument);
    s = slot(Opcode::Ping, 0);
    s.length = kCmdPayloadMax + 1;
    EXPECT_EQ(decode(s), Status::OutOfRange);
    s.length = 0xffffffffu;
    EXPECT_EQ(decode(s), Status::OutOfRange);
}

TEST(MailboxDecode, VmIdBound) {
    EXPECT_EQ(decode(slot(Opcode::Start, 0)), Status::InvalidArgument) << "START needs a VM";
    EXPECT_EQ(decode(slot(Opcode::Start, kMaxVms + 1)), Status::OutOfRange);
    EXPECT_EQ(decode(slot(Opcode::Start, 0xffffffffu)), Status::OutOfRange);
    EXPECT_EQ(decode(slot(Opcode::Ping, 1)), Status::InvalidArgument) << "PING takes no VM";
    EXPECT_EQ(decode(slot(Opcode::List, kMaxVms + 1)), Status::OutOfRange);
}

TEST(MailboxDecode, BytesPastLengthMustBeZero) {
    CommandSlot s = slot(Opcode::Ping, 0);
    s.payload[kCmdPayloadMax - 1] = 1;
    EXPECT_EQ(decode(s), Status::InvalidArgument);
    CreateVmPayload p = good_create();
    s = slot(Opcode::CreateVm, 0, &p, sizeof p);
    s.payload[sizeof p] = 0xff;
    EXPECT_EQ(decode(s), Status::InvalidArgument);
}

TEST(MailboxDecode, PayloadLengthMustMatchOpcode) {
    CreateVmPayload p = good_create();
    EXPECT_EQ(decode(slot(Opcode::CreateVm, 0, &p, sizeof p - 4)), Status::InvalidArgument);
    EXPECT_EQ(decode(slot(Opcode::Ping, 0, &p, 4)), Status::InvalidArgument);
    StopPayload st{};
    EXPECT_EQ(decode(slot(Opcode::Stop, 1, &st, 4)), Status::InvalidArgument);
}

TEST(MailboxDecode, CreateFieldsBound) {
    CreateVmPayload p = good_create();
    p.name[0] = '\0';
    EXPECT_EQ(create(p), Status::InvalidArgument) << "empty name";
    p = good_create();
    p.name[2] = '/';
    EXPECT_EQ(create(p), Status::InvalidArgument) << "name charset";
    p = good_create();
    p.name[10] = 'x'; // after the terminator: two encodings of one name
    EXPECT_EQ(create(p), Status::InvalidArgument);
    p = good_create();
    memset(p.name, 'a', kNameMax); // exactly 16 chars, no NUL: allowed (fixed field)
    EXPECT_EQ(create(p), Status::Ok);
    p = good_create();
    p.cpu_mask = 0;
    EXPECT_EQ(create(p), Status::InvalidArgument);
    p = good_create();
    p.mem_bytes = 3 * MiB;
    EXPECT_EQ(create(p), Status::InvalidArgument) << "2 MiB multiple";
    p.mem_bytes = 0;
    EXPECT_EQ(create(p), Status::InvalidArgument);
    p = good_create();
    p.kernel_size = 0;
    EXPECT_EQ(create(p), Status::OutOfRange);
    p.kernel_size = p.mem_bytes + 1;
    EXPECT_EQ(create(p), Status::OutOfRange);
    p = good_create();
    p.initrd_size = ~0ull;
    EXPECT_EQ(create(p), Status::OutOfRange);
    p = good_create();
    p.initrd_sha256[5] = 1; // hash of an image that does not exist
    EXPECT_EQ(create(p), Status::InvalidArgument);
    p = good_create();
    memset(p.cmdline, 'a', kCmdlineMax); // no terminator inside the field
    EXPECT_EQ(create(p), Status::InvalidArgument);
    p = good_create();
    p.cmdline[3] = '\n';
    EXPECT_EQ(create(p), Status::InvalidArgument) << "control characters";
    p = good_create();
    p.cmdline[200] = 'z'; // junk after the terminator
    EXPECT_EQ(create(p), Status::InvalidArgument);
}

Status load(u32 kind, u64 image_off, u64 bulk_off, u64 len, u32 reserved = 0) {
    LoadImagePayload l{kind, reserved, image_off, bulk_off, len};
    return decode(slot(Opcode::LoadImage, 1, &l, sizeof l));
}

TEST(MailboxDecode, LoadRangesCannotWrap) {
    EXPECT_EQ(load(0, 0, 0, kBulk), Status::Ok);
    EXPECT_EQ(load(1, 4096, kBulk - 4, 4), Status::Ok);
    EXPECT_EQ(load(0, 0, 0, kBulk + 4), Status::OutOfRange);
    EXPECT_EQ(load(0, 0, kBulk, 4), Status::OutOfRange);
    EXPECT_EQ(load(0, 0, ~0ull - 3, 8), Status::OutOfRange) << "offset + length wraps";
    EXPECT_EQ(load(0, 0, 4, ~0ull - 3), Status::OutOfRange);
    EXPECT_EQ(load(0, 0, 0, 0), Status::InvalidArgument);
    EXPECT_EQ(load(2, 0, 0, 4), Status::InvalidArgument) << "kind";
    EXPECT_EQ(load(0, 0, 0, 4, 1), Status::InvalidArgument) << "reserved";
    EXPECT_EQ(load(0, 0, 2, 4), Status::InvalidArgument) << "alignment (Device memory)";
    EXPECT_EQ(load(0, 1, 0, 4), Status::InvalidArgument);
    // An image's last chunk may end mid-word (a 986907-byte initramfs); the word read of
    // its tail stays inside the window because the window's end is word-aligned.
    EXPECT_EQ(load(1, 0, 0, 4093), Status::Ok);
    EXPECT_EQ(load(1, 8, kBulk - 4, 3), Status::Ok);
}

Status console(u32 len, u32 slot_len, u32 reserved = 0) {
    ConsoleWritePayload w{};
    w.length = len;
    w.reserved = reserved;
    memset(w.bytes, 'x', sizeof w.bytes);
    return decode(slot(Opcode::ConsoleWrite, 1, &w, slot_len));
}

TEST(MailboxDecode, ConsoleWriteLengths) {
    EXPECT_EQ(console(1, 9), Status::Ok);
    EXPECT_EQ(console(kConsoleWriteMax, 8 + kConsoleWriteMax), Status::Ok);
    EXPECT_EQ(console(0, 8), Status::InvalidArgument) << "empty write";
    EXPECT_EQ(console(5, 9), Status::InvalidArgument) << "inner length disagrees with slot length";
    EXPECT_EQ(console(1, 4), Status::InvalidArgument) << "shorter than the fixed part";
    EXPECT_EQ(console(1, 9, 1), Status::InvalidArgument);
    ConsoleWritePayload w{};
    CommandSlot s = slot(Opcode::ConsoleWrite, 1, &w, 8);
    s.length = sizeof(ConsoleWritePayload) + 4;
    EXPECT_EQ(decode(s), Status::OutOfRange) << "past the console payload";
}

TEST(MailboxDecode, StopReservedMustBeZero) {
    StopPayload st{0, 1};
    EXPECT_EQ(decode(slot(Opcode::Stop, 1, &st, sizeof st)), Status::InvalidArgument);
}

TEST(MailboxDecode, RandomGarbageNeverCrashesAndRarelyPasses) {
    std::mt19937_64 rng(12345);
    u32 ok = 0;
    for (int i = 0; i < 20000; ++i) {
        CommandSlot s;
        auto* p = reinterpret_cast<u64*>(&s);
        for (usize w = 0; w < sizeof s / 8; ++w)
            p[w] = rng();
        if (i & 1) s.opcode = static_cast<u16>(1 + rng() % kOpcodeMax); // get past the opcode check
        ok += decode(s) == Status::Ok;
    }
    EXPECT_EQ(ok, 0u) << "random bytes leave non-zero padding: nothing should decode";
}

} // namespace
} // namespace keel::mailbox
