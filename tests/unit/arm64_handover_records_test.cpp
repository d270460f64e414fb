// arm64 vCPU and distributor state <-> the handover record (arch/arm64/handover_records.hpp).
// The references are docs/handover.md §2.2's field order, not the code: el1[] is SCTLR,
// TTBR0, TTBR1, TCR, MAIR, AMAIR, VBAR, ESR, FAR, ELR, SPSR, SP_EL0, SP_EL1, TPIDR_EL0,
// TPIDRRO_EL0, TPIDR_EL1, CONTEXTIDR, CPACR, PAR, CNTKCTL, CNTV_CTL, CNTV_CVAL, CNTP_CTL,
// CNTP_CVAL, AFSR0, AFSR1; list registers go in only for a vCPU that is on.
#include <gtest/gtest.h>

#include <cstring>

#include "arch/arm64/handover_records.hpp"

using namespace keel;
using namespace keel::arm64;

namespace {

update::VcpuRecord sample() {
    update::VcpuRecord r{};
    r.vm_id = 3;
    r.index = 1;
    r.core = 5;
    r.on = 1;
    for (u32 i = 0; i < 31; ++i)
        r.x[i] = 0x1000 + i;
    r.pc = 0xffff800010001234ull;
    r.pstate = 0x3c5;
    for (u32 i = 0; i < 26; ++i)
        r.el1[i] = 0x5000 + i;
    r.cntvoff = 77;
    r.gic_enabled = 0x0000ffff;
    r.gic_pending = 0x8000001b;
    r.gic_group = 0xffffffff;
    r.gic_icfgr1 = 0xaaaa0000;
    r.gic_waker = 0;
    for (u32 i = 0; i < 32; ++i)
        r.gic_priority[i] = static_cast<u8>(0xa0 + i);
    r.ich_hcr = 1;
    r.lr_count = 2;
    r.ich_lr[0] = 0x5000000000000000ull | 27; // pending, vINTID 27 (the virtual timer)
    r.ich_lr[1] = 0x9000000000000000ull | 33;
    r.ich_ap1r0 = 0x1;
    return r;
}

TEST(Arm64HandoverRecords, VcpuFieldsLandWhereTheSpecSays) {
    Vcpu v{};
    vcpu_from_record(v, sample());
    EXPECT_EQ(v.index, 1u);
    EXPECT_EQ(v.core, 5u);
    EXPECT_EQ(v.on, 1u);
    EXPECT_EQ(v.ctx.x[0], 0x1000u);
    EXPECT_EQ(v.ctx.x[30], 0x1000u + 30);
    EXPECT_EQ(v.ctx.pc, 0xffff800010001234ull);
    EXPECT_EQ(v.ctx.pstate, 0x3c5u);
    EXPECT_EQ(v.el1.sctlr_el1, 0x5000u);
    EXPECT_EQ(v.el1.vbar_el1, 0x5000u + 6);
    EXPECT_EQ(v.el1.elr_el1, 0x5000u + 9);
    EXPECT_EQ(v.el1.sp_el1, 0x5000u + 12);
    EXPECT_EQ(v.el1.tpidr_el1, 0x5000u + 15);
    EXPECT_EQ(v.el1.cntkctl_el1, 0x5000u + 19);
    EXPECT_EQ(v.el1.cntv_ctl_el0, 0x5000u + 20);
    EXPECT_EQ(v.el1.cntv_cval_el0, 0x5000u + 21) << "a timer deadline survives";
    EXPECT_EQ(v.el1.cntp_cval_el0, 0x5000u + 23);
    EXPECT_EQ(v.el1.afsr1_el1, 0x5000u + 25);
    EXPECT_EQ(v.gic.pending, 0x8000001bu);
    EXPECT_EQ(v.gic.icfgr1, 0xaaaa0000u);
    EXPECT_EQ(v.gic.priority[31], 0xa0 + 31);
    EXPECT_EQ(v.gic.hcr, 1u);
    EXPECT_EQ(v.parked_lr_count, 2u);
    EXPECT_EQ(v.parked_lr[0] & 0xffffffffu, 27u) << "an interrupt in flight survives";
    EXPECT_EQ(v.parked_ap1r0, 1u);
}

TEST(Arm64HandoverRecords, VcpuRoundTripsAndAnOffVcpuCarriesNoListRegisters) {
    const update::VcpuRecord r = sample();
    Vcpu v{};
    vcpu_from_record(v, r);
    const update::VcpuRecord again = vcpu_record(3, v, 1, 77);
    EXPECT_EQ(memcmp(&again, &r, sizeof r), 0);
    const update::VcpuRecord off = vcpu_record(3, v, 0, 77);
    EXPECT_EQ(off.on, 0u);
    EXPECT_EQ(off.lr_count, 0u);
    EXPECT_EQ(off.ich_lr[0], 0u);
    EXPECT_EQ(off.el1[21], 0x5000u + 21) << "its registers still go in";
}

TEST(Arm64HandoverRecords, DistributorRoundTrips) {
    update::VgicDistRecord r{};
    r.vm_id = 2;
    r.ctlr = 0x12; // EnableGrp1NS | ARE_NS
    r.enabled = 0x3;
    r.pending = 0x2;
    r.level = 0x1;
    r.group = 0xffffffff;
    r.icfgr[1] = 0x8;
    r.priority[1] = 0xa0;
    r.irouter[1] = 1;
    r.irouter[31] = 0x80000000ull; // Interrupt_Routing_Mode
    VgicDist d{};
    dist_from_record(d, r);
    EXPECT_EQ(d.ctlr, 0x12u);
    EXPECT_EQ(d.pending, 0x2u) << "an SPI in flight";
    EXPECT_EQ(d.level, 0x1u);
    EXPECT_EQ(d.icfgr[1], 0x8u);
    EXPECT_EQ(d.priority[1], 0xa0);
    EXPECT_EQ(d.irouter[31], 0x80000000ull);
    const update::VgicDistRecord again = dist_record(2, d);
    EXPECT_EQ(memcmp(&again, &r, sizeof r), 0);
}

// VmDevices (§2.2, from ABI 3): the PL011's registers by name, its receive queue from its
// head (a queue that wraps in VUart comes out in order), the PL061's registers.
TEST(Arm64HandoverRecords, DevicesRoundTripAndTheQueueComesOutInOrder) {
    VUart u{};
    u.ifls = 0x12; // the PL011's reset value (ARM DDI 0183G 3.3.10)
    u.cr = 0x301;
    u.imsc = 0x50; // RXIM | RTIM
    u.rx_head = VUart::kRxSize - 1;
    u.rx_count = 3;
    u.rx[VUart::kRxSize - 1] = 'a';
    u.rx[0] = 'b';
    u.rx[1] = 'c';
    u.rx_open = 1;
    memcpy(u.line, "partial", 7);
    u.line_len = 7;
    VGpio g{};
    g.dev.ie = 0x8;
    g.dev.in = 0x8; // the power button pressed
    const update::VmDevicesRecord r = devices_record(4, u, g);
    EXPECT_EQ(r.vm_id, 4u);
    EXPECT_EQ(r.uart_cr, 0x301u);
    EXPECT_EQ(r.uart_imsc, 0x50u);
    EXPECT_EQ(r.uart_ifls, 0x12u);
    EXPECT_EQ(r.uart_rx_count, 3u);
    EXPECT_EQ(memcmp(r.uart_rx, "abc", 3), 0);
    EXPECT_EQ(r.uart_rx_open, 1u);
    EXPECT_EQ(r.uart_line_len, 7u);
    EXPECT_EQ(r.gpio_ie, 0x8);
    EXPECT_EQ(r.gpio_in, 0x8);
    VUart u2{};
    VGpio g2{};
    devices_from_record(u2, g2, r);
    EXPECT_EQ(u2.imsc, 0x50u);
    EXPECT_EQ(u2.rx_head, 0u);
    EXPECT_EQ(u2.rx_count, 3u);
    EXPECT_EQ(u2.rx[2], 'c');
    EXPECT_EQ(g2.dev.in, 0x8);
    EXPECT_EQ(g2.dev.irq(), (g2.dev.ris & g2.dev.ie) != 0);
    const update::VmDevicesRecord again = devices_record(4, u2, g2);
    EXPECT_EQ(memcmp(&again, &r, sizeof r), 0);
}

} // namespace
