// The rules of a handover record set (docs/handover.md §2.3), each broken in a record the
// writer sealed (the hash is right, so the rule itself is what refuses), and OldImage's own
// rules on its own (the pristine copy's spans, its flags).
#include "handover_samples.hpp"

namespace keel::update {
namespace {

using namespace sample;

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

// VM 1 (one vCPU) with all its records, then the mailbox and the pool: after an OldImage.
void vm1_and_tail(HandoverWriter& w) {
    (void)w.add(RecordType::Vm, vm(1, 1));
    (void)w.add(RecordType::Stage2, stage2(1));
    (void)w.add(RecordType::VgicDist, dist(1));
    (void)w.add(RecordType::VmDevices, devices(1));
    (void)w.add(RecordType::Console, console(1));
    (void)w.add(RecordType::MailboxVm, mailbox_vm(1));
    (void)w.add(RecordType::Vcpu, vcpu(1, 0));
    tail(w);
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
        vm1_and_tail(w);
        Result<u64> n = w.seal();
        ASSERT_TRUE(n.ok()) << c.name;
        HandoverView v;
        EXPECT_EQ(parse(b, n.value(), v), c.want) << c.name;
    }
}

// §2.3 OldImage (ABI 6): the command line the incoming image runs with ends inside its field.
TEST(Handover, OldImageCommandLineMustBeTerminated) {
    for (const bool terminated : {true, false}) {
        Buf b;
        HandoverWriter w(b.data(), b.size(), 1);
        OldImageRecord o = old_image();
        memset(o.cmdline, 'k', sizeof o.cmdline);
        if (terminated) o.cmdline[sizeof o.cmdline - 1] = '\0';
        (void)w.add(RecordType::OldImage, o);
        vm1_and_tail(w);
        Result<u64> n = w.seal();
        ASSERT_TRUE(n.ok());
        HandoverView v;
        EXPECT_EQ(parse(b, n.value(), v), terminated ? Status::Ok : Status::Corrupt);
        if (terminated) {
            EXPECT_EQ(strlen(v.old_image->cmdline), sizeof o.cmdline - 1);
        }
    }
}

} // namespace
} // namespace keel::update
