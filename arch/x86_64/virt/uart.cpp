#include "uart.hpp"

namespace keel::virt {
namespace {

constexpr u8 kIerRx = 1, kIerThre = 2, kLcrDlab = 0x80, kMcrOut2 = 8, kMcrLoop = 0x10;
constexpr u8 kIirNone = 1, kIirThre = 2, kIirRx = 4, kIirFifo = 0xc0;
constexpr u8 kLsrDr = 1, kLsrThre = 0x20, kLsrTemt = 0x40;

u8 iir_of(const Uart& u) {
    if ((u.ier & kIerRx) && u.rx_full) return kIirRx;
    if ((u.ier & kIerThre) && u.thre_pending) return kIirThre;
    return kIirNone;
}

} // namespace

void uart_reset(Uart& u) { u = Uart{}; }

bool uart_write(Uart& u, u32 offset, u8 value, u8* tx) {
    const bool dlab = u.lcr & kLcrDlab;
    switch (offset) {
    case 0:
        if (dlab) {
            u.dll = value;
            return false;
        }
        u.thre_pending = true; // sent at once: THR empty again
        if (u.mcr & kMcrLoop) {
            u.rx = value, u.rx_full = true; // loopback: the byte comes back
            return false;
        }
        *tx = value;
        return true;
    case 1:
        if (dlab) {
            u.dlm = value;
            return false;
        }
        // Enabling the THRE interrupt while THR is empty raises it (16550D: IIR priority 3).
        if ((value & kIerThre) && !(u.ier & kIerThre)) u.thre_pending = true;
        if (!(value & kIerRx)) u.rx_open = false;
        u.ier = value & 0x0f;
        return false;
    case 2: u.fcr = value & 0xc9; return false; // FIFO enable, DMA mode, trigger level
    case 3: u.lcr = value; return false;
    case 4: u.mcr = value & 0x1f; return false;
    case 7: u.scr = value; return false;
    default: return false; // LSR and MSR are read-only
    }
}

u8 uart_read(Uart& u, u32 offset) {
    const bool dlab = u.lcr & kLcrDlab;
    switch (offset) {
    case 0:
        if (dlab) return u.dll;
        u.rx_full = false;
        return u.rx;
    case 1: return dlab ? u.dlm : u.ier;
    case 2: {
        const u8 iir = iir_of(u);
        if (iir == kIirThre) u.thre_pending = false; // reading IIR clears THRE (16550D)
        if (u.ier & kIerRx) u.rx_open = true;
        return static_cast<u8>(iir | ((u.fcr & 1) ? kIirFifo : 0));
    }
    case 3: return u.lcr;
    case 4: return u.mcr;
    case 5: return static_cast<u8>(kLsrThre | kLsrTemt | (u.rx_full ? kLsrDr : 0));
    case 6:
        if (u.mcr & kMcrLoop) // CTS = RTS, DSR = DTR, RI = OUT1, DCD = OUT2
            return static_cast<u8>(((u.mcr & 2) << 3) | ((u.mcr & 1) << 5) | ((u.mcr & 4) << 4) |
                                   ((u.mcr & 8) << 4));
        return 0xb0; // DCD, DSR, CTS: a line is connected
    default: return u.scr;
    }
}

bool uart_feed(Uart& u, u8 byte) {
    if (u.rx_full) return false;
    u.rx = byte, u.rx_full = true;
    return true;
}

bool uart_wants_rx(const Uart& u) { return !u.rx_full; }
bool uart_irq(const Uart& u) { return iir_of(u) != kIirNone && (u.mcr & kMcrOut2); }
bool uart_rx_enabled(const Uart& u) { return (u.ier & kIerRx) && u.rx_open; }

} // namespace keel::virt
