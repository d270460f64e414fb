// The handover record (docs/handover.md §2, §3): a record written by HandoverWriter parses
// back field for field; a truncated one, any changed byte, another ABI version and structure
// errors under a correct hash are refused, and a refusal leaves the view empty. The rules of
// §2.3, one by one: handover_rules_test.cpp.
#include <string>

#include "handover_samples.hpp"

namespace keel::update {
namespace {

using namespace sample;

TEST(Handover, LayoutMatchesDocs) {
    EXPECT_EQ(sizeof(HandoverHeader), 80u);
    EXPECT_EQ(offsetof(HandoverHeader, update_counter), 24u);
    EXPECT_EQ(offsetof(HandoverHeader, record_count), 32u);
    EXPECT_EQ(offsetof(VcpuRecord, pc), 264u);
    EXPECT_EQ(offsetof(VcpuRecord, cntvoff), 488u);
    EXPECT_EQ(offsetof(VcpuRecord, ich_lr), 560u);
    EXPECT_EQ(offsetof(ConsoleRecord, in_len), 4120u);
    EXPECT_EQ(offsetof(MailboxRecord, audit_head), 88u);
    EXPECT_EQ(offsetof(MailboxRecord, session_keys), 120u);
    EXPECT_EQ(offsetof(OldImageRecord, dtb), 88u);
    EXPECT_EQ(offsetof(OldImageRecord, cores_online), 96u);
    EXPECT_EQ(offsetof(OldImageRecord, quiesce_tick), 120u);
    EXPECT_EQ(offsetof(OldImageRecord, entropy), 128u);
    EXPECT_EQ(offsetof(OldImageRecord, restore_offset), 160u);
    EXPECT_EQ(offsetof(OldImageRecord, restore_copy), 176u);
    EXPECT_EQ(offsetof(OldImageRecord, flags), 184u);
    EXPECT_EQ(offsetof(OldImageRecord, acpi_rsdp), 192u);
    EXPECT_EQ(offsetof(OldImageRecord, cmdline), 200u);
    EXPECT_EQ(sizeof(OldImageRecord), 456u);
    EXPECT_EQ(offsetof(VmDevicesRecord, uart_rx), 56u);
    EXPECT_EQ(offsetof(VmDevicesRecord, uart_line), 120u);
    EXPECT_EQ(offsetof(VmDevicesRecord, gpio_data), 240u);
    EXPECT_EQ(offsetof(MailboxVmRecord, cpu_mask), 24u);
    EXPECT_EQ(offsetof(MailboxVmRecord, cmdline), 64u);
    Buf b;
    write_sample(b);
    EXPECT_EQ(memcmp(b.data(), "KEELHND1", 8), 0) << "magic as text";
}

TEST(Handover, RoundTrip) {
    Buf b;
    const u64 n = write_sample(b, 7);
    EXPECT_EQ(n, 80 + 18 * 16 + 456 + 2 * (64 + 32 + 320 + 256 + 5152 + 320) + 3 * 704 + 216 + 8 +
                     3 * 24);
    HandoverView v;
    ASSERT_EQ(parse(b, n, v), Status::Ok);
    EXPECT_EQ(v.header.abi_version, 8u);
    EXPECT_EQ(v.header.update_counter, 7u);
    EXPECT_EQ(v.header.record_count, 18u);
    EXPECT_EQ(v.header.length, n);
    EXPECT_EQ(v.vm_devices[1]->uart_imsc, 0x50u);
    EXPECT_EQ(v.vm_devices[0]->uart_rx[1], 'k');
    EXPECT_STREQ(v.mailbox_vm[1]->name, "guest-2");
    EXPECT_STREQ(v.mailbox_vm[0]->cmdline, "console=ttyAMA0 quiet");
    EXPECT_STREQ(v.old_image->version, "0.1.0");
    EXPECT_EQ(v.old_image->update_region, 0x40400000u);
    ASSERT_EQ(v.vm_count, 2u);
    EXPECT_STREQ(v.vms[1]->name, "vm-2");
    EXPECT_EQ(v.stage2[1]->root, 0x41000000u + 2 * 4096);
    EXPECT_EQ(v.vgic_dist[1]->vm_id, 2u);
    EXPECT_EQ(v.vgic_dist[1]->pending, 0x2u);
    EXPECT_EQ(v.vgic_dist[1]->irouter[1], 1u);
    EXPECT_EQ(v.console[0]->out_mirror[100], 'b');
    EXPECT_EQ(
        std::string(reinterpret_cast<const char*>(v.console[1]->in_queue), v.console[1]->in_len),
        "ls\n");
    ASSERT_EQ(v.vcpu_count, 3u);
    EXPECT_EQ(v.vcpus[2]->x[30], 2 * 1000 + 1 * 100 + 30u);
    EXPECT_EQ(v.vcpus[2]->el1[21], 0x123456789u);
    EXPECT_EQ(v.vcpus[2]->ich_lr[0] & 0xffff, 27u);
    EXPECT_EQ(v.mailbox->seq_floor, 1796159635830947ull);
    EXPECT_EQ(v.mailbox->audit_head[31], 0xa0 + 31);
    ASSERT_EQ(v.pool->count, 3u);
    EXPECT_EQ(v.pool_runs[1].owner, 1u);
    EXPECT_EQ(v.pool_runs[0].owner, kOwnerHypervisor);
    EXPECT_EQ(parse(b, b.size(), v), Status::Ok) << "a larger buffer is fine: length decides";
}

TEST(Handover, TruncatedIsRefused) {
    Buf b;
    const u64 n = write_sample(b);
    HandoverView v;
    EXPECT_EQ(parse(b, 79, v), Status::Truncated);
    EXPECT_EQ(parse(b, n - 1, v), Status::Truncated);
    EXPECT_EQ(parse(b, 0, v), Status::Truncated);
    EXPECT_EQ(v.vm_count, 0u) << "nothing taken from a refused record";
    EXPECT_EQ(v.old_image, nullptr);
}

TEST(Handover, EveryChangedByteIsRefused) {
    Buf b;
    const u64 n = write_sample(b);
    for (u64 i = 0; i < n; ++i) {
        b.data()[i] ^= 0x10;
        HandoverView v;
        const Status s = parse(b, b.size(), v);
        EXPECT_NE(s, Status::Ok) << "byte " << i;
        EXPECT_EQ(v.vm_count, 0u);
        b.data()[i] ^= 0x10;
    }
    HandoverView v;
    EXPECT_EQ(parse(b, n, v), Status::Ok) << "and the original still parses";
}

TEST(Handover, OtherVersionsAreRefused) {
    Buf b;
    const u64 n = write_sample(b);
    HandoverView v;
    EXPECT_EQ(parse(b, n, v, 9, 10), Status::Unsupported) << "a reader that adopts 9..10 only";
    EXPECT_EQ(parse(b, n, v, 5, 6), Status::Unsupported)
        << "a version-6 reader (no x86 records: an x86 VM's state would be lost)";
    u32 version = 9;
    memcpy(b.data() + 8, &version, 4);
    rehash(b);
    EXPECT_EQ(parse(b, n, v), Status::Unsupported) << "a record from a newer writer";
    EXPECT_EQ(parse(b, n, v, 8, 9), Status::Ok) << "accepted by a reader that lists it";
    for (u32 older : {6u, 7u}) {
        version = older;
        memcpy(b.data() + 8, &version, 4);
        rehash(b);
        EXPECT_EQ(parse(b, n, v), Status::Ok)
            << "an arm64 record of ABI " << older << " is one of 8 (6..8)";
    }
    version = 8;
    memcpy(b.data() + 8, &version, 4);
    u32 rec_version = 2; // the first record's own version
    memcpy(b.data() + 80 + 4, &rec_version, 4);
    rehash(b);
    EXPECT_EQ(parse(b, n, v), Status::Corrupt) << "record version";
}

// A record set written with the writer (valid hash) that breaks one rule of §2.3.
TEST(Handover, StructureErrorsWithAGoodHashAreRefused) {
    Buf b;
    const u64 n = write_sample(b);
    HandoverView v;
    // An unknown record type.
    u32 type = 11;
    memcpy(b.data() + 80, &type, 4);
    rehash(b);
    EXPECT_EQ(parse(b, n, v), Status::Corrupt) << "unknown type";
    // A fixed-size record with another length (OldImage claims 88 bytes).
    write_sample(b);
    u32 len = 88;
    memcpy(b.data() + 80 + 8, &len, 4);
    rehash(b);
    EXPECT_EQ(parse(b, n, v), Status::Corrupt) << "OldImage length";
    // Bytes after the last record, counted in length.
    write_sample(b);
    u64 longer = n + 16;
    memcpy(b.data() + 16, &longer, 8);
    rehash(b);
    EXPECT_EQ(parse(b, longer, v), Status::Corrupt) << "trailing bytes";
    // One record fewer than record_count says.
    write_sample(b);
    u32 count = 13;
    memcpy(b.data() + 32, &count, 4);
    rehash(b);
    EXPECT_EQ(parse(b, n, v), Status::Corrupt) << "record count";
    // A non-zero reserved header byte.
    write_sample(b);
    b.data()[75] = 1;
    rehash(b);
    EXPECT_EQ(parse(b, n, v), Status::Corrupt) << "reserved";
    // Misaligned buffer.
    write_sample(b);
    EXPECT_EQ(parse_handover(b.data() + 4, n, 1, 1, v), Status::InvalidArgument);
}

// §2.3 OldImage (ABI 5): the pristine copy and the bytes it restores inside the image's span
TEST(Handover, TheWriterNeverSealsARecordThatDidNotFit) {
    Buf b;
    HandoverWriter w(b.data(), 80 + 16 + 456 + 100, 1); // OldImage fits, Mailbox does not
    EXPECT_EQ(w.add(RecordType::OldImage, old_image()), Status::Ok);
    EXPECT_EQ(w.add(RecordType::Mailbox, mailbox()), Status::NoMemory);
    EXPECT_EQ(w.add_pool(kRuns, 0), Status::NoMemory) << "sticky";
    EXPECT_EQ(w.seal().status(), Status::NoMemory);
    HandoverWriter w2(b.data(), b.size(), 1);
    EXPECT_EQ(w2.add(RecordType::Vm, &kRuns, 24), Status::InvalidArgument) << "Vm is 64 bytes";
    EXPECT_EQ(w2.add(RecordType::Vm, &kRuns, 12), Status::InvalidArgument) << "not a multiple of 8";
    HandoverWriter w3(b.data() + 4, b.size() - 8, 1);
    EXPECT_EQ(w3.seal().status(), Status::InvalidArgument) << "misaligned buffer";
}

// The writer's own check of what seal() just hashed (Digest::Trusted) skips the SHA-256 and
// nothing else: a wrong seal passes it, and every other rule still refuses.
TEST(Handover, ATrustedDigestSkipsOnlyTheHash) {
    Buf b;
    const u64 n = write_sample(b);
    HandoverView v;
    b.data()[40] ^= 1; // the seal itself
    EXPECT_EQ(parse(b, n, v), Status::Corrupt);
    EXPECT_EQ(parse_handover(b.data(), n, kHandoverAbiMin, kHandoverAbi, v, Digest::Trusted),
              Status::Ok);
    u32 flags = 1; // a header rule
    memcpy(b.data() + 36, &flags, 4);
    EXPECT_EQ(parse_handover(b.data(), n, kHandoverAbiMin, kHandoverAbi, v, Digest::Trusted),
              Status::Corrupt);
}

} // namespace
} // namespace keel::update
