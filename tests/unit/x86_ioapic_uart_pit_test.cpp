// The Linux VM's platform devices (arch/x86_64/virt/ioapic.*, uart.*, pit.*) against
// their data sheets: the 82093AA I/O APIC (IOREGSEL/IOWIN, version register, redirection
// entries with read-only delivery status and remote IRR), the PC16550D UART (IIR
// priorities, THRE interrupt rules, loopback MSR mapping, divisor latch), the 82C54 PIT's
// counter 2 (mode 0 terminal count on OUT2, LSB/MSB access, counter latch).
#include <gtest/gtest.h>

#include "arch/x86_64/virt/ioapic.hpp"
#include "arch/x86_64/virt/pit.hpp"
#include "arch/x86_64/virt/uart.hpp"

using namespace keel;
using namespace keel::virt;

namespace {

void rte(Ioapic& io, u32 pin, u64 value) {
    ioapic_write(io, 0, 0x10 + 2 * pin);
    ioapic_write(io, 0x10, static_cast<u32>(value));
    ioapic_write(io, 0, 0x11 + 2 * pin);
    ioapic_write(io, 0x10, static_cast<u32>(value >> 32));
}

} // namespace

TEST(X86Ioapic, IdentificationRegisters) {
    Ioapic io;
    ioapic_reset(io, 2);
    ioapic_write(io, 0, 0);
    EXPECT_EQ(ioapic_read(io, 0x10), 2u << 24);
    ioapic_write(io, 0, 1); // version: max redirection entry 23 in 23:16
    EXPECT_EQ((ioapic_read(io, 0x10) >> 16) & 0xff, 23u);
    EXPECT_EQ(ioapic_read(io, 0), 1u); // IOREGSEL reads back
    // Every entry masked after reset.
    for (u32 pin = 0; pin < kIoapicPins; ++pin) {
        ioapic_write(io, 0, 0x10 + 2 * pin);
        EXPECT_EQ(ioapic_read(io, 0x10) & (1u << 16), 1u << 16) << pin;
    }
}

TEST(X86Ioapic, EdgeOnUnmaskedPinRoutesItsEntry) {
    Ioapic io;
    ioapic_reset(io, 0);
    // Vector 0x21, fixed, logical, destination 0x01; delivery status and remote IRR
    // (bits 12, 14) are read-only and stay 0.
    rte(io, 4, (0x01ull << 56) | (1u << 11) | (1u << 12) | (1u << 14) | 0x21);
    ioapic_write(io, 0, 0x18);
    EXPECT_EQ(ioapic_read(io, 0x10), (1u << 11) | 0x21u);
    IoapicRoute r = ioapic_set_line(io, 4, true);
    ASSERT_TRUE(r.deliver);
    EXPECT_EQ(r.vector, 0x21);
    EXPECT_EQ(r.mode, 0);
    EXPECT_TRUE(r.logical);
    EXPECT_EQ(r.dest, 0x01u);
    EXPECT_FALSE(ioapic_set_line(io, 4, true).deliver); // still high: no new edge
    EXPECT_FALSE(ioapic_set_line(io, 4, false).deliver);
    EXPECT_TRUE(ioapic_set_line(io, 4, true).deliver);
    // Masked: the edge is not delivered.
    rte(io, 4, (1u << 16) | 0x21);
    (void)ioapic_set_line(io, 4, false);
    EXPECT_FALSE(ioapic_set_line(io, 4, true).deliver);
    EXPECT_FALSE(ioapic_set_line(io, 99, true).deliver); // no such pin
}

TEST(X86Uart, ThreInterruptRules) {
    Uart u;
    uart_reset(u);
    u8 tx = 0;
    ASSERT_FALSE(uart_write(u, 4, 0x08, &tx)); // MCR.OUT2 gates the interrupt
    EXPECT_EQ(uart_read(u, 2) & 0x0f, 0x01);   // IIR: none pending
    // Enabling ETBEI with THR empty raises THRE (IIR 0010b); reading IIR clears it.
    ASSERT_FALSE(uart_write(u, 1, 0x02, &tx));
    EXPECT_TRUE(uart_irq(u));
    EXPECT_EQ(uart_read(u, 2) & 0x0f, 0x02);
    EXPECT_FALSE(uart_irq(u));
    EXPECT_EQ(uart_read(u, 2) & 0x0f, 0x01);
    // A THR write transmits and THR is empty again: THRE pending once more.
    ASSERT_TRUE(uart_write(u, 0, 'k', &tx));
    EXPECT_EQ(tx, 'k');
    EXPECT_TRUE(uart_irq(u));
    // Without OUT2 the line stays low although IIR reports it.
    ASSERT_FALSE(uart_write(u, 4, 0x00, &tx));
    EXPECT_FALSE(uart_irq(u));
    // LSR: THRE and TEMT always (instant transmit).
    EXPECT_EQ(uart_read(u, 5) & 0x60, 0x60);
}

TEST(X86Uart, ReceiveHasPriorityOverThre) {
    Uart u;
    uart_reset(u);
    u8 tx = 0;
    ASSERT_FALSE(uart_write(u, 4, 0x08, &tx));
    ASSERT_FALSE(uart_write(u, 1, 0x03, &tx)); // ERBFI | ETBEI
    EXPECT_FALSE(uart_rx_enabled(u));          // not before the driver has read IIR (its drain)
    EXPECT_EQ(uart_read(u, 2) & 0x0f, 0x02);   // THRE, now reported (and cleared)
    EXPECT_TRUE(uart_rx_enabled(u));
    ASSERT_TRUE(uart_write(u, 0, 'a', &tx)); // THR empty again: THRE pending
    ASSERT_TRUE(uart_feed(u, 'x'));
    EXPECT_FALSE(uart_feed(u, 'y'));         // RBR full
    EXPECT_EQ(uart_read(u, 5) & 0x01, 0x01); // LSR.DR
    EXPECT_EQ(uart_read(u, 2) & 0x0f, 0x04); // received data first (priority 2)
    EXPECT_EQ(uart_read(u, 0), 'x');
    EXPECT_EQ(uart_read(u, 5) & 0x01, 0x00);
    EXPECT_EQ(uart_read(u, 2) & 0x0f, 0x02); // then THRE
}

TEST(X86Uart, LoopbackDivisorAndFifo) {
    Uart u;
    uart_reset(u);
    u8 tx = 0;
    // Loopback with RTS and OUT2 (MCR 0x1a): MSR 7:4 = DCD, RI, DSR, CTS = OUT2, OUT1, DTR,
    // RTS = 1, 0, 0, 1 -> 0x90 (the 8250 driver's probe).
    ASSERT_FALSE(uart_write(u, 4, 0x1a, &tx));
    EXPECT_EQ(uart_read(u, 6) & 0xf0, 0x90);
    EXPECT_FALSE(uart_write(u, 0, 'z', &tx)); // looped back, not sent
    EXPECT_EQ(uart_read(u, 0), 'z');
    ASSERT_FALSE(uart_write(u, 4, 0x00, &tx));
    // DLAB: offsets 0/1 are the divisor latch.
    ASSERT_FALSE(uart_write(u, 3, 0x83, &tx));
    ASSERT_FALSE(uart_write(u, 0, 0x01, &tx));
    ASSERT_FALSE(uart_write(u, 1, 0x00, &tx));
    EXPECT_EQ(uart_read(u, 0), 0x01);
    ASSERT_FALSE(uart_write(u, 3, 0x03, &tx));
    EXPECT_EQ(uart_read(u, 1), 0x00); // IER unchanged by the latch writes
    // FIFO enabled: IIR 7:6 = 11 (a 16550A).
    ASSERT_FALSE(uart_write(u, 2, 0x01, &tx));
    EXPECT_EQ(uart_read(u, 2) & 0xc0, 0xc0);
    // Scratch register.
    ASSERT_FALSE(uart_write(u, 7, 0x5a, &tx));
    EXPECT_EQ(uart_read(u, 7), 0x5a);
}

TEST(X86Pit, Counter2Mode0TerminalCountOnOut2) {
    Pit p;
    const u64 hz = 1193182ull * 1000; // 1000 TSC ticks per PIT tick
    pit_reset(p, hz);
    pit_write(p, 0x61, 0x01, 0); // gate 2 high, speaker off
    pit_write(p, 0x43, 0xb0, 0); // counter 2, LSB then MSB, mode 0, binary
    pit_write(p, 0x42, 0x10, 0);
    pit_write(p, 0x42, 0x00, 100000); // count 16, counting from TSC 100000
    EXPECT_EQ(pit_read(p, 0x61, 100000) & 0x20, 0x00);
    EXPECT_EQ(pit_read(p, 0x61, 100000 + 15 * 1000) & 0x20, 0x00);
    EXPECT_EQ(pit_read(p, 0x61, 100000 + 16 * 1000) & 0x20, 0x20); // OUT2 high at 0
    EXPECT_EQ(pit_read(p, 0x61, 100000) & 0x03, 0x01);             // gate bits read back
    // Reads without a latch: LSB then MSB of the live count.
    pit_write(p, 0x43, 0xb0, 0);
    pit_write(p, 0x42, 0xff, 0);
    pit_write(p, 0x42, 0xff, 0); // 0xffff from TSC 0
    EXPECT_EQ(pit_read(p, 0x42, 0x100 * 1000), 0xff);
    EXPECT_EQ(pit_read(p, 0x42, 0x100 * 1000), 0xfe); // 0xffff - 0x100 = 0xfeff
    // Counter latch: the value at the latch command, whatever time says later.
    pit_write(p, 0x43, 0x80, 0x200 * 1000);
    EXPECT_EQ(pit_read(p, 0x42, 0x300 * 1000), 0xff);
    EXPECT_EQ(pit_read(p, 0x42, 0x300 * 1000), 0xfd); // 0xffff - 0x200 = 0xfdff
    EXPECT_EQ(pit_read(p, 0x42, 0x300 * 1000), 0xff); // live again: 0xfcff
    EXPECT_EQ(pit_read(p, 0x42, 0x300 * 1000), 0xfc);
    // Channels 0 and 1 do not exist.
    EXPECT_EQ(pit_read(p, 0x40, 0), 0xff);
}
