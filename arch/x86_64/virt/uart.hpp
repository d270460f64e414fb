// COM1 as the guest sees it: a 16550A (National Semiconductor PC16550D data sheet; the
// register map at 0x3f8-0x3ff): THR/RBR, IER, IIR/FCR, LCR (DLAB), MCR (loopback), LSR,
// MSR, SCR, the divisor latch. Transmission is instant (THR is empty again at once), so
// THRE interrupts follow every write; received bytes come from the VM's console input.
// The interrupt output is IIR's "pending" gated by MCR.OUT2, as on PC serial ports.
// Pure logic (tests/unit/x86_uart_test.cpp); the caller holds the VM's device lock.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::virt {

struct Uart {
    u8 ier, lcr, mcr, scr, dll, dlm, fcr;
    bool thre_pending; // THR empty and not yet reported through IIR
    bool rx_full;      // `rx` holds a byte the guest has not read
    bool rx_open;      // IIR read with receive interrupts enabled (see uart_rx_enabled)
    u8 rx;
};

void uart_reset(Uart& u);
// A register access at `offset` 0-7. A write to THR gives the byte in *tx (returns true).
bool uart_write(Uart& u, u32 offset, u8 value, u8* tx);
u8 uart_read(Uart& u, u32 offset);
// Moves the next input byte into RBR if it is empty; true if one was taken.
bool uart_feed(Uart& u, u8 byte);
bool uart_wants_rx(const Uart& u); // RBR empty
// The interrupt output (IRQ4).
bool uart_irq(const Uart& u);
// Whether console input may be handed to the guest: receive interrupts enabled (IER bit 0)
// and IIR read since. A driver opening the port drains RBR (Linux: LSR, RX, IIR, MSR) around
// enabling them; a byte fed before that drain would be lost.
bool uart_rx_enabled(const Uart& u);

} // namespace keel::virt
