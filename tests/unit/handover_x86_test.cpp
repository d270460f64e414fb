// The x86_64 records of the handover record (docs/handover.md §2.2 VcpuX86, X86Devices,
// X86Clock, §2.3; ABI 7 and 8): their layout against the page's offsets, a set of x86 VMs round
// trip, and each rule about them refused with a correct hash. The reference is the page, not the
// writer: offsets are the page's numbers, records are built field by field here.
#include <gtest/gtest.h>

#include <cstddef>

#include "handover_samples.hpp"

namespace keel::update {
namespace {

using sample::Buf;

VcpuX86Record x86_vcpu(u32 vm_id, u32 index) {
    VcpuX86Record r{};
    r.vm_id = vm_id;
    r.index = index;
    r.core = vm_id + index;
    r.run = 3; // Running
    r.rax = 0x1000 * vm_id + index;
    r.r15 = 0xf15;
    r.rip = 0xffffffff81000000ull + index;
    r.rflags = 0x246;
    r.cr0 = 0x80050033;
    r.efer = 0xd01;
    r.cs = X86Segment{0x10, 0xa9b, 0xffffffff, 0};
    r.idtr = X86Segment{0, 0, 0xfff, 0xfffffe0000000000ull};
    r.lstar = 0xffffffff81e00000ull;
    r.event_inject = (1ull << 31) | 0x20; // an external interrupt, vector 0x20, being delivered
    r.timer_deadline = 123456789;
    r.lapic_bytes = 208;
    r.lapic[0] = 0xab;
    return r;
}

X86DevicesRecord x86_devices(u32 vm_id) {
    X86DevicesRecord d{};
    d.vm_id = vm_id;
    d.uart_bytes = 11, d.ioapic_bytes = 208, d.pit_bytes = 40, d.rtc_bytes = 32;
    d.rx_head = 250, d.rx_count = 10; // the queue wraps
    d.ioapic[16] = 0x31;
    d.rx_queue[250] = 'l';
    return d;
}

// Image, then VMs 1 (one vCPU) and 2 (two) with the x86 set, the mailbox, the pool.
// `bend` may change the record set: it gets the writer after each VM's records.
template <class Bend>
u64 write_x86(Buf& b, Bend bend, u32 abi = kHandoverAbi) {
    HandoverWriter w(b.data(), b.size(), 3, abi);
    EXPECT_EQ(w.add(RecordType::OldImage, sample::old_image()), Status::Ok);
    for (u32 id = 1; id <= 2; ++id) {
        EXPECT_EQ(w.add(RecordType::Vm, sample::vm(id, id)), Status::Ok);
        EXPECT_EQ(w.add(RecordType::Stage2, sample::stage2(id)), Status::Ok);
        EXPECT_EQ(w.add(RecordType::X86Devices, x86_devices(id)), Status::Ok);
        EXPECT_EQ(w.add(RecordType::Console, sample::console(id)), Status::Ok);
        EXPECT_EQ(w.add(RecordType::MailboxVm, sample::mailbox_vm(id)), Status::Ok);
        for (u32 i = 0; i < id; ++i)
            EXPECT_EQ(w.add(RecordType::VcpuX86, x86_vcpu(id, i)), Status::Ok);
        bend(w, id);
    }
    EXPECT_EQ(w.add(RecordType::Mailbox, sample::mailbox()), Status::Ok);
    EXPECT_EQ(w.add_pool(sample::kRuns, 3), Status::Ok);
    Result<u64> n = w.seal();
    EXPECT_TRUE(n.ok());
    return n.ok() ? n.value() : 0;
}

u64 write_x86(Buf& b) {
    return write_x86(b, [](HandoverWriter&, u32) {});
}

TEST(HandoverX86, LayoutMatchesDocs) {
    EXPECT_EQ(sizeof(VcpuX86Record), 776u);
    EXPECT_EQ(offsetof(VcpuX86Record, rax), 16u);
    EXPECT_EQ(offsetof(VcpuX86Record, rsp), 72u);
    EXPECT_EQ(offsetof(VcpuX86Record, r15), 136u);
    EXPECT_EQ(offsetof(VcpuX86Record, rip), 144u);
    EXPECT_EQ(offsetof(VcpuX86Record, dr7), 208u);
    EXPECT_EQ(offsetof(VcpuX86Record, es), 216u);
    EXPECT_EQ(offsetof(VcpuX86Record, idtr), 360u);
    EXPECT_EQ(offsetof(VcpuX86Record, star), 376u);
    EXPECT_EQ(offsetof(VcpuX86Record, sysenter_eip), 432u);
    EXPECT_EQ(offsetof(VcpuX86Record, pat), 440u);
    EXPECT_EQ(offsetof(VcpuX86Record, event_inject), 464u);
    EXPECT_EQ(offsetof(VcpuX86Record, int_shadow), 480u);
    EXPECT_EQ(offsetof(VcpuX86Record, timer_deadline), 496u);
    EXPECT_EQ(offsetof(VcpuX86Record, lapic_bytes), 516u);
    EXPECT_EQ(offsetof(VcpuX86Record, lapic), 520u);
    EXPECT_EQ(sizeof(X86DevicesRecord), 688u);
    EXPECT_EQ(offsetof(X86DevicesRecord, rx_head), 24u);
    EXPECT_EQ(offsetof(X86DevicesRecord, uart), 32u);
    EXPECT_EQ(offsetof(X86DevicesRecord, ioapic), 48u);
    EXPECT_EQ(offsetof(X86DevicesRecord, pit), 304u);
    EXPECT_EQ(offsetof(X86DevicesRecord, rtc), 368u);
    EXPECT_EQ(offsetof(X86DevicesRecord, rx_queue), 432u);
    EXPECT_EQ(static_cast<u32>(RecordType::VcpuX86), 14u);
    EXPECT_EQ(static_cast<u32>(RecordType::X86Devices), 15u);
    EXPECT_EQ(sizeof(X86ClockRecord), 24u);
    EXPECT_EQ(offsetof(X86ClockRecord, timer_per_tsc_q32), 8u);
    EXPECT_EQ(offsetof(X86ClockRecord, tsc_source), 16u);
    EXPECT_EQ(static_cast<u32>(RecordType::X86Clock), 16u);
    EXPECT_EQ(kHandoverAbi, 8u);
}

TEST(HandoverX86, RoundTrip) {
    Buf b;
    const u64 n = write_x86(b);
    // 80 B header; 16 records of 16 B header: image 456, per VM Vm 64, Stage2 32,
    // X86Devices 688, Console 5152, MailboxVm 320; 3 vCPUs of 776; mailbox 216; pool 8 + 72.
    EXPECT_EQ(n, 80 + 16 * 16 + 456 + 2 * (64 + 32 + 688 + 5152 + 320) + 3 * 776 + 216 + 8 + 72);
    HandoverView v;
    ASSERT_EQ(sample::parse(b, n, v), Status::Ok);
    EXPECT_EQ(v.header.abi_version, 8u);
    EXPECT_EQ(v.x86_clock, nullptr) << "none written";
    EXPECT_EQ(v.vm_count, 2u);
    EXPECT_EQ(v.vcpu_count, 0u) << "no arm64 vCPU";
    ASSERT_EQ(v.x86_vcpu_count, 3u);
    EXPECT_EQ(v.x86_vcpus[2]->vm_id, 2u);
    EXPECT_EQ(v.x86_vcpus[2]->index, 1u);
    EXPECT_EQ(v.x86_vcpus[1]->rax, 0x2000u);
    EXPECT_EQ(v.x86_vcpus[0]->cs.attrib, 0xa9bu);
    EXPECT_EQ(v.x86_vcpus[0]->event_inject, (1ull << 31) | 0x20);
    EXPECT_EQ(v.x86_vcpus[0]->lapic[0], 0xab);
    ASSERT_NE(v.x86_devices[1], nullptr);
    EXPECT_EQ(v.x86_devices[1]->ioapic[16], 0x31);
    EXPECT_EQ(v.x86_devices[0]->rx_queue[250], 'l');
    EXPECT_EQ(v.vgic_dist[0], nullptr);
    EXPECT_EQ(v.vm_devices[0], nullptr);
}

// One record set changed by `bend`; the parse refuses it (the writer's hash is good).
template <class Bend>
Status parse_bent(Bend bend) {
    Buf b;
    const u64 n = write_x86(b, bend);
    HandoverView v;
    const Status s = sample::parse(b, n, v);
    if (s != Status::Ok) {
        EXPECT_EQ(v.vm_count, 0u) << "a refusal leaves the view empty";
    }
    return s;
}

TEST(HandoverX86, EveryVmHasOneArchsSetWhole) {
    // An arm64 record beside the x86 set: a mix.
    EXPECT_EQ(parse_bent([](HandoverWriter& w, u32 id) {
                  if (id == 2) (void)w.add(RecordType::VgicDist, sample::dist(2));
              }),
              Status::Corrupt);
    EXPECT_EQ(parse_bent([](HandoverWriter& w, u32 id) {
                  if (id == 1) (void)w.add(RecordType::VmDevices, sample::devices(1));
              }),
              Status::Corrupt);
    EXPECT_EQ(parse_bent([](HandoverWriter& w, u32 id) {
                  if (id == 1) (void)w.add(RecordType::Vcpu, sample::vcpu(1, 0));
              }),
              Status::Corrupt)
        << "an arm64 vCPU of an x86 VM";
    // Twice the devices, a vCPU too many or twice, one for a VM not recorded (yet).
    EXPECT_EQ(parse_bent([](HandoverWriter& w, u32 id) {
                  if (id == 1) (void)w.add(RecordType::X86Devices, x86_devices(1));
              }),
              Status::Corrupt);
    EXPECT_EQ(parse_bent([](HandoverWriter& w, u32 id) {
                  if (id == 2) (void)w.add(RecordType::VcpuX86, x86_vcpu(2, 1));
              }),
              Status::Corrupt);
    EXPECT_EQ(parse_bent([](HandoverWriter& w, u32 id) {
                  if (id == 1) (void)w.add(RecordType::VcpuX86, x86_vcpu(1, 1));
              }),
              Status::Corrupt)
        << "index beyond the VM's vcpu_count";
    EXPECT_EQ(parse_bent([](HandoverWriter& w, u32 id) {
                  if (id == 1) (void)w.add(RecordType::VcpuX86, x86_vcpu(2, 0));
              }),
              Status::Corrupt)
        << "before its Vm record";
}

TEST(HandoverX86, MissingPiecesAreRefused) {
    Buf b;
    HandoverWriter w(b.data(), b.size(), 3);
    ASSERT_EQ(w.add(RecordType::OldImage, sample::old_image()), Status::Ok);
    ASSERT_EQ(w.add(RecordType::Vm, sample::vm(1, 1)), Status::Ok);
    ASSERT_EQ(w.add(RecordType::Stage2, sample::stage2(1)), Status::Ok);
    ASSERT_EQ(w.add(RecordType::Console, sample::console(1)), Status::Ok);
    ASSERT_EQ(w.add(RecordType::MailboxVm, sample::mailbox_vm(1)), Status::Ok);
    ASSERT_EQ(w.add(RecordType::VcpuX86, x86_vcpu(1, 0)), Status::Ok); // no X86Devices
    ASSERT_EQ(w.add(RecordType::Mailbox, sample::mailbox()), Status::Ok);
    ASSERT_EQ(w.add_pool(sample::kRuns, 3), Status::Ok);
    Result<u64> n = w.seal();
    ASSERT_TRUE(n.ok());
    HandoverView v;
    EXPECT_EQ(sample::parse(b, n.value(), v), Status::Corrupt);
}

TEST(HandoverX86, FieldsOutOfTheirBoundsAreRefused) {
    auto device = [](auto change) {
        return parse_bent([&](HandoverWriter& w, u32 id) {
            if (id != 2) return;
            X86DevicesRecord d = x86_devices(3);
            change(d);
            (void)w.add(RecordType::Vm, sample::vm(3, 1));
            (void)w.add(RecordType::Stage2, sample::stage2(3));
            (void)w.add(RecordType::X86Devices, d);
            (void)w.add(RecordType::Console, sample::console(3));
            (void)w.add(RecordType::MailboxVm, sample::mailbox_vm(3));
            (void)w.add(RecordType::VcpuX86, x86_vcpu(3, 0));
        });
    };
    EXPECT_EQ(device([](X86DevicesRecord&) {}), Status::Ok) << "a third VM as written";
    EXPECT_EQ(device([](X86DevicesRecord& d) { d.rx_count = 257; }), Status::Corrupt);
    EXPECT_EQ(device([](X86DevicesRecord& d) { d.rx_head = 256; }), Status::Corrupt);
    EXPECT_EQ(device([](X86DevicesRecord& d) { d.ioapic_bytes = 257; }), Status::Corrupt);
    EXPECT_EQ(device([](X86DevicesRecord& d) { d.uart_bytes = 17; }), Status::Corrupt);
    EXPECT_EQ(device([](X86DevicesRecord& d) { d.reserved = 1; }), Status::Corrupt);
    EXPECT_EQ(parse_bent([](HandoverWriter& w, u32 id) {
                  if (id != 2) return;
                  VcpuX86Record c = x86_vcpu(3, 0);
                  c.lapic_bytes = 257;
                  (void)w.add(RecordType::Vm, sample::vm(3, 1));
                  (void)w.add(RecordType::Stage2, sample::stage2(3));
                  (void)w.add(RecordType::X86Devices, x86_devices(3));
                  (void)w.add(RecordType::Console, sample::console(3));
                  (void)w.add(RecordType::MailboxVm, sample::mailbox_vm(3));
                  (void)w.add(RecordType::VcpuX86, c);
              }),
              Status::Corrupt);
}

TEST(HandoverX86, AnAbi6ReaderRefusesTheNewTypes) {
    Buf b;
    const u64 n = write_x86(b);
    HandoverView v;
    EXPECT_EQ(sample::parse(b, n, v, 6, 6), Status::Unsupported) << "written as ABI 8";
}

// A 2 GHz TSC measured against the PIT; a 1 GHz local APIC timer: half a tick per TSC tick.
X86ClockRecord clock() {
    X86ClockRecord c{};
    c.tsc_hz = 2000000000;
    c.timer_per_tsc_q32 = 1ull << 31;
    c.tsc_source = 2;
    return c;
}

template <class Change>
Status parse_clock(Change change) {
    return parse_bent([&](HandoverWriter& w, u32 id) {
        X86ClockRecord c = clock();
        change(c);
        if (id == 1) {
            EXPECT_EQ(w.add(RecordType::X86Clock, c), Status::Ok);
        }
    });
}

TEST(HandoverX86, TheClockRatesRoundTrip) {
    Buf b;
    const u64 n = write_x86(b, [](HandoverWriter& w, u32 id) {
        if (id == 2) {
            EXPECT_EQ(w.add(RecordType::X86Clock, clock()), Status::Ok);
        }
    });
    HandoverView v;
    ASSERT_EQ(sample::parse(b, n, v), Status::Ok);
    ASSERT_NE(v.x86_clock, nullptr);
    EXPECT_EQ(v.x86_clock->tsc_hz, 2000000000u);
    EXPECT_EQ(v.x86_clock->timer_per_tsc_q32, 0x80000000u);
    EXPECT_EQ(v.x86_clock->tsc_source, 2u);
    // Rates not known: all zero is a record the reader measures after.
    EXPECT_EQ(parse_clock([](X86ClockRecord& c) { c = X86ClockRecord{}; }), Status::Ok);
}

TEST(HandoverX86, TheClockRecordsRulesAreKept) {
    EXPECT_EQ(
        parse_bent([](HandoverWriter& w, u32) { (void)w.add(RecordType::X86Clock, clock()); }),
        Status::Corrupt)
        << "twice";
    EXPECT_EQ(parse_clock([](X86ClockRecord& c) { c.reserved = 1; }), Status::Corrupt);
    EXPECT_EQ(parse_clock([](X86ClockRecord& c) { c.tsc_source = 3; }), Status::Corrupt);
    EXPECT_EQ(parse_clock([](X86ClockRecord& c) { c.tsc_hz = 0; }), Status::Corrupt)
        << "a source or a timer rate without a TSC rate";
    EXPECT_EQ(parse_clock([](X86ClockRecord& c) { c.tsc_hz = 0, c.tsc_source = 0; }),
              Status::Corrupt);
    // Beside an arm64 VM: x86_64's alone.
    Buf b;
    const u64 n = sample::write_sample(b);
    HandoverView v;
    ASSERT_EQ(sample::parse(b, n, v), Status::Ok);
    Buf c;
    HandoverWriter w(c.data(), c.size(), 3);
    ASSERT_EQ(w.add(RecordType::X86Clock, clock()), Status::Ok);
    (void)w.seal();
    // The arm64 set with the clock record spliced in after its records (count and length
    // grown, hash made again).
    const usize rec = sizeof(RecordHeader) + sizeof(X86ClockRecord);
    memcpy(b.data() + n, c.data() + sizeof(HandoverHeader), rec);
    HandoverHeader h;
    memcpy(&h, b.data(), sizeof h);
    h.length += rec;
    h.record_count += 1;
    memcpy(b.data(), &h, sizeof h);
    sample::rehash(b);
    EXPECT_EQ(sample::parse(b, n + rec, v), Status::Corrupt);
}

// A record for a reader of ABI 7 (a rollback to an older image): the writer refuses the
// clock record, the rest is as before, and a header of 7 holding one is refused.
TEST(HandoverX86, AnAbi7RecordHasNoClock) {
    Buf b;
    const u64 n = write_x86(
        b,
        [](HandoverWriter& w, u32 id) {
            if (id == 1) {
                EXPECT_EQ(w.add(RecordType::X86Clock, clock()), Status::InvalidArgument);
            }
        },
        7);
    HandoverView v;
    ASSERT_EQ(sample::parse(b, n, v, 7, 7), Status::Ok) << "an ABI 7 reader takes it";
    EXPECT_EQ(v.header.abi_version, 7u);
    EXPECT_EQ(v.x86_clock, nullptr);
    Buf c;
    const u64 m = write_x86(c, [](HandoverWriter& w, u32 id) {
        if (id == 1) {
            EXPECT_EQ(w.add(RecordType::X86Clock, clock()), Status::Ok);
        }
    });
    c.data()[8] = 7; // abi_version
    sample::rehash(c);
    EXPECT_EQ(sample::parse(c, m, v), Status::Corrupt) << "a type newer than the header's ABI";
    // No writer writes a version outside this build's range.
    for (u32 abi : {kHandoverAbiMin - 1, kHandoverAbi + 1}) {
        HandoverWriter w(c.data(), c.size(), 3, abi);
        EXPECT_EQ(w.add(RecordType::OldImage, sample::old_image()), Status::InvalidArgument);
        EXPECT_EQ(w.seal().status(), Status::InvalidArgument) << abi;
    }
}

} // namespace
} // namespace keel::update
