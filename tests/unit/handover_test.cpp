// The handover record (docs/handover.md §2, §3): a record written by HandoverWriter parses
// back field for field; a truncated one, any changed byte, another ABI version and every
// rule of §2.3 broken (with a correct hash, so the rule itself is what refuses) are refused,
// and a refusal leaves the view empty.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "crypto/sha2.hpp"
#include "hypervisor/update/handover.hpp"

namespace keel::update {
namespace {

// 8-byte aligned storage for records.
struct Buf {
    std::vector<u64> words = std::vector<u64>(4096, 0);
    u8* data() { return reinterpret_cast<u8*>(words.data()); }
    usize size() const { return words.size() * 8; }
};

OldImageRecord old_image() {
    OldImageRecord r{};
    r.base = 0x40200000;
    r.span = 6 * MiB;
    r.entry = 0x40200000;
    r.update_region = 0x40400000;
    r.update_region_size = 4 * MiB;
    r.security_floor = 1;
    r.security_version = 1;
    r.hv_version = 0x000100;
    strcpy(r.version, "0.1.0");
    return r;
}

VmRecord vm(u32 id, u32 vcpus) {
    VmRecord r{};
    r.id = id;
    r.state = 3;
    r.cpu_mask = ((1ull << vcpus) - 1) << id;
    r.mem_base = 0x80000000ull + id * 0x10000000ull;
    r.mem_size = 64 * MiB;
    r.first_cpu = id;
    r.vcpu_count = vcpus;
    snprintf(r.name, sizeof r.name, "vm-%u", id);
    r.started_ms = 1000 + id;
    return r;
}

VcpuRecord vcpu(u32 vm_id, u32 index) {
    VcpuRecord r{};
    r.vm_id = vm_id;
    r.index = index;
    r.core = vm_id + index;
    r.on = 1;
    for (u32 i = 0; i < 31; ++i)
        r.x[i] = vm_id * 1000 + index * 100 + i;
    r.pc = 0x80080000 + index * 4;
    r.pstate = 0x3c5;
    r.el1[21] = 0x123456789; // CNTV_CVAL: a timer deadline
    r.lr_count = 2;
    r.ich_lr[0] = 0x5000000000000000ull | 27; // a pending virtual interrupt
    return r;
}

Stage2Record stage2(u32 vm_id) {
    return Stage2Record{vm_id, vm_id, 0x41000000ull + vm_id * 4096, 0x80023559, 0x40000000};
}

VgicDistRecord dist(u32 vm_id) {
    VgicDistRecord r{};
    r.vm_id = vm_id;
    r.ctlr = 0x12; // EnableGrp1NS | ARE_NS
    r.enabled = 0x3;
    r.pending = 0x2; // an SPI pending in the distributor
    r.icfgr[1] = 0x8;
    r.priority[1] = 0xa0;
    r.irouter[1] = 1;
    return r;
}

VmDevicesRecord devices(u32 vm_id) {
    VmDevicesRecord r{};
    r.vm_id = vm_id;
    r.uart_cr = 0x301;   // UARTEN | TXE | RXE
    r.uart_imsc = 0x50;  // RXIM | RTIM: the guest's driver takes receive interrupts
    r.uart_rx_count = 2; // two bytes queued for the guest
    r.uart_rx[0] = 'o';
    r.uart_rx[1] = 'k';
    r.gpio_ie = 0x8; // the power button's line
    return r;
}

MailboxVmRecord mailbox_vm(u32 vm_id) {
    MailboxVmRecord r{};
    r.vm_id = vm_id;
    r.flags = 1;
    snprintf(r.name, sizeof r.name, "guest-%u", vm_id);
    r.cpu_mask = 1ull << vm_id;
    r.mem_bytes = 64 * MiB;
    r.started_ms = 500 + vm_id;
    snprintf(r.cmdline, sizeof r.cmdline, "console=ttyAMA0 quiet");
    return r;
}

ConsoleRecord console(u32 vm_id) {
    ConsoleRecord r{};
    r.vm_id = vm_id;
    r.out_count = 5000;
    r.out_published = 4990;
    memset(r.out_mirror, 'a' + static_cast<int>(vm_id), sizeof r.out_mirror);
    r.in_len = 3;
    memcpy(r.in_queue, "ls\n", 3);
    return r;
}

MailboxRecord mailbox() {
    MailboxRecord r{};
    r.region_base = 0x8000000000ull;
    r.region_size = 4 * MiB;
    for (u32 i = 0; i < 16; ++i)
        r.boot_nonce[i] = static_cast<u8>(i * 3);
    r.active_session = 2;
    r.offer_id = 3;
    r.seq_floor = 1796159635830947ull;
    r.audit_next_index = 42;
    for (u32 i = 0; i < 32; ++i)
        r.audit_head[i] = static_cast<u8>(0xa0 + i);
    for (u32 i = 0; i < 96; ++i)
        r.session_keys[i] = static_cast<u8>(i);
    return r;
}

const PoolRun kRuns[3] = {{0x40000000, 2 * MiB, kOwnerHypervisor, 0},
                          {0x80000000, 128 * MiB, 1, 0},
                          {0x90000000, 256 * MiB, kOwnerFree, 0}};

// The usual record: image, two VMs (1 and 2 vCPUs) with their stage 2 and console, the
// mailbox, the pool. Returns its length.
u64 write_sample(Buf& b, u64 counter = 7) {
    HandoverWriter w(b.data(), b.size(), counter);
    EXPECT_EQ(w.add(RecordType::OldImage, old_image()), Status::Ok);
    for (u32 id = 1; id <= 2; ++id) {
        EXPECT_EQ(w.add(RecordType::Vm, vm(id, id)), Status::Ok);
        EXPECT_EQ(w.add(RecordType::Stage2, stage2(id)), Status::Ok);
        EXPECT_EQ(w.add(RecordType::VgicDist, dist(id)), Status::Ok);
        EXPECT_EQ(w.add(RecordType::VmDevices, devices(id)), Status::Ok);
        EXPECT_EQ(w.add(RecordType::Console, console(id)), Status::Ok);
        EXPECT_EQ(w.add(RecordType::MailboxVm, mailbox_vm(id)), Status::Ok);
        for (u32 i = 0; i < id; ++i)
            EXPECT_EQ(w.add(RecordType::Vcpu, vcpu(id, i)), Status::Ok);
    }
    EXPECT_EQ(w.add(RecordType::Mailbox, mailbox()), Status::Ok);
    EXPECT_EQ(w.add_pool(kRuns, 3), Status::Ok);
    Result<u64> n = w.seal();
    EXPECT_TRUE(n.ok());
    return n.value();
}

// The hash as §2.1 defines it, computed here independently of the writer.
void rehash(Buf& b) {
    HandoverHeader h;
    memcpy(&h, b.data(), sizeof h);
    memset(h.sha256, 0, sizeof h.sha256);
    crypto::Sha256 sha;
    sha.init();
    sha.update(&h, sizeof h);
    sha.update(b.data() + sizeof h, h.length - sizeof h);
    u8 d[32];
    sha.final(d);
    memcpy(b.data() + 40, d, 32);
}

Status parse(Buf& b, usize len, HandoverView& v, u32 lo = kHandoverAbiMin, u32 hi = kHandoverAbi) {
    return parse_handover(b.data(), len, lo, hi, v);
}

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
    EXPECT_EQ(sizeof(OldImageRecord), 192u);
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
    EXPECT_EQ(n, 80 + 18 * 16 + 192 + 2 * (64 + 32 + 320 + 256 + 5152 + 320) + 3 * 704 + 216 + 8 +
                     3 * 24);
    HandoverView v;
    ASSERT_EQ(parse(b, n, v), Status::Ok);
    EXPECT_EQ(v.header.abi_version, 5u);
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
    EXPECT_EQ(parse(b, n, v, 6, 7), Status::Unsupported) << "a reader that adopts 6..7 only";
    EXPECT_EQ(parse(b, n, v, 4, 4), Status::Unsupported)
        << "a version-4 reader (OldImage without the pristine copy and the rollback flag)";
    u32 version = 6;
    memcpy(b.data() + 8, &version, 4);
    rehash(b);
    EXPECT_EQ(parse(b, n, v), Status::Unsupported) << "a record from a newer writer";
    EXPECT_EQ(parse(b, n, v, 5, 6), Status::Ok) << "accepted by a reader that lists it";
    version = 5;
    memcpy(b.data() + 8, &version, 4);
    u32 rec_version = 2; // the first record's own version
    memcpy(b.data() + 80 + 4, &rec_version, 4);
    rehash(b);
    EXPECT_EQ(parse(b, n, v), Status::Corrupt) << "record version";
}

// A record set written with the writer (valid hash) that breaks one rule of §2.3.
struct Rule {
    const char* name;
    void (*write)(HandoverWriter&);
};

// OldImage, then VM 1 with `vcpus` vCPUs and its per-VM records but the one type `leave_out`
// (Vm itself: none left out), then one Vcpu record (index 0).
void vm1_without(HandoverWriter& w, RecordType leave_out, u32 vcpus = 1) {
    (void)w.add(RecordType::OldImage, old_image());
    (void)w.add(RecordType::Vm, vm(1, vcpus));
    if (leave_out != RecordType::Stage2) (void)w.add(RecordType::Stage2, stage2(1));
    if (leave_out != RecordType::VgicDist) (void)w.add(RecordType::VgicDist, dist(1));
    if (leave_out != RecordType::VmDevices) (void)w.add(RecordType::VmDevices, devices(1));
    if (leave_out != RecordType::Console) (void)w.add(RecordType::Console, console(1));
    if (leave_out != RecordType::MailboxVm) (void)w.add(RecordType::MailboxVm, mailbox_vm(1));
    (void)w.add(RecordType::Vcpu, vcpu(1, 0));
}
void base_vm1(HandoverWriter& w) {
    EXPECT_EQ(w.add(RecordType::OldImage, old_image()), Status::Ok);
    EXPECT_EQ(w.add(RecordType::Vm, vm(1, 1)), Status::Ok);
    EXPECT_EQ(w.add(RecordType::Stage2, stage2(1)), Status::Ok);
    EXPECT_EQ(w.add(RecordType::VgicDist, dist(1)), Status::Ok);
    EXPECT_EQ(w.add(RecordType::VmDevices, devices(1)), Status::Ok);
    EXPECT_EQ(w.add(RecordType::Console, console(1)), Status::Ok);
    EXPECT_EQ(w.add(RecordType::MailboxVm, mailbox_vm(1)), Status::Ok);
}
void tail(HandoverWriter& w) {
    EXPECT_EQ(w.add(RecordType::Mailbox, mailbox()), Status::Ok);
    EXPECT_EQ(w.add_pool(kRuns, 3), Status::Ok);
}

const Rule kRules[] = {
    {"the valid base set",
     [](HandoverWriter& w) {
         base_vm1(w);
         (void)w.add(RecordType::Vcpu, vcpu(1, 0));
         tail(w);
     }},
    {"no OldImage", [](HandoverWriter& w) { tail(w); }},
    {"OldImage not first",
     [](HandoverWriter& w) {
         (void)w.add(RecordType::Mailbox, mailbox());
         (void)w.add(RecordType::OldImage, old_image());
         (void)w.add_pool(kRuns, 3);
     }},
    {"two Mailbox records",
     [](HandoverWriter& w) {
         (void)w.add(RecordType::OldImage, old_image());
         tail(w);
         (void)w.add(RecordType::Mailbox, mailbox());
     }},
    {"no PoolRuns",
     [](HandoverWriter& w) {
         (void)w.add(RecordType::OldImage, old_image());
         (void)w.add(RecordType::Mailbox, mailbox());
     }},
    {"a vCPU missing",
     [](HandoverWriter& w) {
         base_vm1(w);
         tail(w);
     }},
    {"a vCPU index past vcpu_count",
     [](HandoverWriter& w) {
         base_vm1(w);
         (void)w.add(RecordType::Vcpu, vcpu(1, 1));
         tail(w);
     }},
    {"the same vCPU twice",
     [](HandoverWriter& w) {
         vm1_without(w, RecordType::Vm, 2);
         (void)w.add(RecordType::Vcpu, vcpu(1, 0));
         tail(w);
     }},
    {"a vCPU of an unknown VM",
     [](HandoverWriter& w) {
         base_vm1(w);
         (void)w.add(RecordType::Vcpu, vcpu(1, 0));
         (void)w.add(RecordType::Vcpu, vcpu(5, 0));
         tail(w);
     }},
    {"a VM without its stage 2",
     [](HandoverWriter& w) {
         vm1_without(w, RecordType::Stage2);
         tail(w);
     }},
    {"a VM without its distributor",
     [](HandoverWriter& w) {
         vm1_without(w, RecordType::VgicDist);
         tail(w);
     }},
    {"a VM without its console",
     [](HandoverWriter& w) {
         vm1_without(w, RecordType::Console);
         tail(w);
     }},
    {"a VM without its devices",
     [](HandoverWriter& w) {
         vm1_without(w, RecordType::VmDevices);
         tail(w);
     }},
    {"a VM without its mailbox record",
     [](HandoverWriter& w) {
         vm1_without(w, RecordType::MailboxVm);
         tail(w);
     }},
    {"two mailbox records for one VM",
     [](HandoverWriter& w) {
         base_vm1(w);
         (void)w.add(RecordType::MailboxVm, mailbox_vm(1));
         (void)w.add(RecordType::Vcpu, vcpu(1, 0));
         tail(w);
     }},
    {"more UART input than its queue holds",
     [](HandoverWriter& w) {
         vm1_without(w, RecordType::VmDevices);
         VmDevicesRecord d = devices(1);
         d.uart_rx_count = 65;
         (void)w.add(RecordType::VmDevices, d);
         tail(w);
     }},
    {"a UART line longer than its buffer",
     [](HandoverWriter& w) {
         vm1_without(w, RecordType::VmDevices);
         VmDevicesRecord d = devices(1);
         d.uart_line_len = 121;
         (void)w.add(RecordType::VmDevices, d);
         tail(w);
     }},
    {"a command line without its NUL",
     [](HandoverWriter& w) {
         vm1_without(w, RecordType::MailboxVm);
         MailboxVmRecord m = mailbox_vm(1);
         memset(m.cmdline, 'x', sizeof m.cmdline);
         (void)w.add(RecordType::MailboxVm, m);
         tail(w);
     }},
    {"two distributors for one VM",
     [](HandoverWriter& w) {
         base_vm1(w);
         (void)w.add(RecordType::VgicDist, dist(1));
         (void)w.add(RecordType::Vcpu, vcpu(1, 0));
         tail(w);
     }},
    {"a distributor before its VM",
     [](HandoverWriter& w) {
         (void)w.add(RecordType::OldImage, old_image());
         (void)w.add(RecordType::VgicDist, dist(1));
         (void)w.add(RecordType::Vm, vm(1, 1));
         (void)w.add(RecordType::Stage2, stage2(1));
         (void)w.add(RecordType::VmDevices, devices(1));
         (void)w.add(RecordType::Console, console(1));
         (void)w.add(RecordType::MailboxVm, mailbox_vm(1));
         (void)w.add(RecordType::Vcpu, vcpu(1, 0));
         tail(w);
     }},
    {"two VMs with one id",
     [](HandoverWriter& w) {
         base_vm1(w);
         (void)w.add(RecordType::Vcpu, vcpu(1, 0));
         (void)w.add(RecordType::Vm, vm(1, 1));
         tail(w);
     }},
    {"VM id 0",
     [](HandoverWriter& w) {
         (void)w.add(RecordType::OldImage, old_image());
         (void)w.add(RecordType::Vm, vm(0, 1));
         tail(w);
     }},
    {"a pool run with an unknown owner",
     [](HandoverWriter& w) {
         (void)w.add(RecordType::OldImage, old_image());
         (void)w.add(RecordType::Mailbox, mailbox());
         const PoolRun bad[1] = {{0x40000000, 2 * MiB, 77, 0}};
         (void)w.add_pool(bad, 1);
     }},
    {"console input longer than its queue",
     [](HandoverWriter& w) {
         (void)w.add(RecordType::OldImage, old_image());
         (void)w.add(RecordType::Vm, vm(1, 1));
         (void)w.add(RecordType::Stage2, stage2(1));
         (void)w.add(RecordType::VgicDist, dist(1));
         (void)w.add(RecordType::VmDevices, devices(1));
         (void)w.add(RecordType::MailboxVm, mailbox_vm(1));
         ConsoleRecord c = console(1);
         c.in_len = 1025;
         (void)w.add(RecordType::Console, c);
         (void)w.add(RecordType::Vcpu, vcpu(1, 0));
         tail(w);
     }},
};

TEST(Handover, EachRuleOfARecordSetIsEnforced) {
    for (const Rule& r : kRules) {
        Buf b;
        HandoverWriter w(b.data(), b.size(), 1);
        r.write(w);
        Result<u64> n = w.seal();
        ASSERT_TRUE(n.ok()) << r.name;
        HandoverView v;
        const Status want = &r == &kRules[0] ? Status::Ok : Status::Corrupt;
        EXPECT_EQ(parse(b, n.value(), v), want) << r.name;
    }
}

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
// and apart from each other (a rollback writes the one from the other), known flags only.
TEST(Handover, OldImageRestoreSpansAndFlagsAreChecked) {
    struct Case {
        const char* name;
        u64 offset, size, copy;
        u32 flags, reserved;
        Status want;
    };
    const u64 span = 6 * MiB; // old_image()'s
    const Case cases[] = {
        {"none", 0, 0, 0, 0, 0, Status::Ok},
        {"a rollback without a copy", 0, 0, 0, kOldImageRollback, 0, Status::Ok},
        {"copy after the bytes", 0x3f000, 0xc000, 0x1e0000, 0, 0, Status::Ok},
        {"copy right behind them", 0x3f000, 0xc000, 0x4b000, 0, 0, Status::Ok},
        {"copy before them", 0x100000, 0x1000, 0x2000, 0, 0, Status::Ok},
        {"ending at the span's end", 0x1000, 0x1000, span - 0x1000, 0, 0, Status::Ok},
        {"offsets without a size", 0x3f000, 0, 0x1e0000, 0, 0, Status::Corrupt},
        {"overlapping", 0x3f000, 0xc000, 0x40000, 0, 0, Status::Corrupt},
        {"copy past the span", 0x1000, 0x1000, span - 0xfff, 0, 0, Status::Corrupt},
        {"bytes past the span", span, 0x1000, 0x1000, 0, 0, Status::Corrupt},
        {"wrapping", 0x1000, ~0ull - 0x800, 0x2000, 0, 0, Status::Corrupt},
        {"an unknown flag", 0, 0, 0, 2, 0, Status::Corrupt},
        {"reserved", 0, 0, 0, 0, 1, Status::Corrupt},
    };
    for (const Case& c : cases) {
        Buf b;
        HandoverWriter w(b.data(), b.size(), 1);
        OldImageRecord o = old_image();
        o.restore_offset = c.offset;
        o.restore_size = c.size;
        o.restore_copy = c.copy;
        o.flags = c.flags;
        o.reserved = c.reserved;
        (void)w.add(RecordType::OldImage, o);
        (void)w.add(RecordType::Vm, vm(1, 1));
        (void)w.add(RecordType::Stage2, stage2(1));
        (void)w.add(RecordType::VgicDist, dist(1));
        (void)w.add(RecordType::VmDevices, devices(1));
        (void)w.add(RecordType::Console, console(1));
        (void)w.add(RecordType::MailboxVm, mailbox_vm(1));
        (void)w.add(RecordType::Vcpu, vcpu(1, 0));
        tail(w);
        Result<u64> n = w.seal();
        ASSERT_TRUE(n.ok()) << c.name;
        HandoverView v;
        EXPECT_EQ(parse(b, n.value(), v), c.want) << c.name;
    }
}

TEST(Handover, TheWriterNeverSealsARecordThatDidNotFit) {
    Buf b;
    HandoverWriter w(b.data(), 80 + 16 + 96 + 16 + 100, 1);
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

} // namespace
} // namespace keel::update

namespace keel::update {
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
} // namespace keel::update
