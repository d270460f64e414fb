// Emulated PL011 (ARM PrimeCell UART TRM DDI 0183) for one VM, complete enough for
// Linux's amba-pl011 driver with interrupts (SPI 1). Output goes to the hypervisor
// console line by line as "[vm N] ..."; input waits in the VM's RX queue and is
// visible to the guest (FR.RXFE clear, DR data, RXRIS) only while its driver has the
// port open for reception, so a driver that drains the FIFO on open loses nothing.
#pragma once

#include "hypervisor/spinlock.hpp"
#include "hypervisor/types.hpp"

namespace keel {
struct Vm;
}

namespace keel::arm64 {

struct Vcpu;

struct VUart {
    static constexpr u32 kRxSize = 64;
    SpinLock lock;
    u32 cr, lcr_h, ibrd, fbrd, ifls, imsc, ris, dmacr, ilpr;
    u8 rx[kRxSize];
    u32 rx_head, rx_count; // the VM's RX queue; never dropped, only consumed by DR reads
    u32 rx_open;           // the guest's driver has opened RX (see vuart.cpp)
    char line[120];
    u32 line_len;
    const char* pending_input; // definition's input not yet in the queue (refilled as it drains)
};

void vuart_init(VUart& u, const char* input);
// A trapped access at `off` into the UART's 4 KiB frame.
void vuart_mmio(Vcpu& v, u64 off, bool write, u64* value);
// Queues console input for the VM; returns the bytes taken (the rest did not fit).
usize vuart_push_rx(Vm& vm, const char* data, usize len);

} // namespace keel::arm64
