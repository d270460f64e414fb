// Sample handover records for the host tests (docs/handover.md §2): one of each record type
// with recognisable field values, the usual record set (write_sample), the §2.1 hash
// computed independently of the writer (rehash), and a parse with this build's ABI range.
// Used by handover_test.cpp and handover_rules_test.cpp.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "crypto/sha2.hpp"
#include "hypervisor/update/handover.hpp"

namespace keel::update::sample {

// 8-byte aligned storage for records.
struct Buf {
    std::vector<u64> words = std::vector<u64>(4096, 0);
    u8* data() { return reinterpret_cast<u8*>(words.data()); }
    usize size() const { return words.size() * 8; }
};

inline OldImageRecord old_image() {
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

inline VmRecord vm(u32 id, u32 vcpus) {
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

inline VcpuRecord vcpu(u32 vm_id, u32 index) {
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

inline Stage2Record stage2(u32 vm_id) {
    return Stage2Record{vm_id, vm_id, 0x41000000ull + vm_id * 4096, 0x80023559, 0x40000000};
}

inline VgicDistRecord dist(u32 vm_id) {
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

inline VmDevicesRecord devices(u32 vm_id) {
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

inline MailboxVmRecord mailbox_vm(u32 vm_id) {
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

inline ConsoleRecord console(u32 vm_id) {
    ConsoleRecord r{};
    r.vm_id = vm_id;
    r.out_count = 5000;
    r.out_published = 4990;
    memset(r.out_mirror, 'a' + static_cast<int>(vm_id), sizeof r.out_mirror);
    r.in_len = 3;
    memcpy(r.in_queue, "ls\n", 3);
    return r;
}

inline MailboxRecord mailbox() {
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

inline const PoolRun kRuns[3] = {{0x40000000, 2 * MiB, kOwnerHypervisor, 0},
                                 {0x80000000, 128 * MiB, 1, 0},
                                 {0x90000000, 256 * MiB, kOwnerFree, 0}};

// The usual record: image, two VMs (1 and 2 vCPUs) with their stage 2 and console, the
// mailbox, the pool. Returns its length.
inline u64 write_sample(Buf& b, u64 counter = 7) {
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
inline void rehash(Buf& b) {
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

inline Status parse(Buf& b, usize len, HandoverView& v, u32 lo = kHandoverAbiMin,
                    u32 hi = kHandoverAbi) {
    return parse_handover(b.data(), len, lo, hi, v);
}

} // namespace keel::update::sample
