// 16550 UART on COM1 (PC16550D datasheet: registers at base+0..7). Transmit only,
// polled; the console must work before anything else, so no interrupts.
#include <arch/console.hpp>

#include "hypervisor/spinlock.hpp"
#include "x86.hpp"

namespace keel::arch {
namespace {

constexpr u16 kCom1 = 0x3f8;
// Register offsets (PC16550D table 2).
constexpr u16 kThr = 0; // transmit holding (DLAB=0)
constexpr u16 kDll = 0; // divisor latch low (DLAB=1)
constexpr u16 kIer = 1; // interrupt enable (DLAB=0)
constexpr u16 kDlm = 1; // divisor latch high (DLAB=1)
constexpr u16 kFcr = 2; // FIFO control
constexpr u16 kLcr = 3; // line control
constexpr u16 kMcr = 4; // modem control
constexpr u16 kLsr = 5; // line status
constexpr u8 kLcrDlab = 0x80;
constexpr u8 kLcr8N1 = 0x03;
constexpr u8 kFcrEnableClear = 0x07; // enable FIFOs, clear RX and TX
constexpr u8 kMcrDtrRts = 0x03;
constexpr u8 kLsrThre = 0x20;     // transmit holding register empty
constexpr u16 kDivisor115200 = 1; // 1.8432 MHz / 16 / 115200

void putc(char c) {
    // Bounded wait: a missing UART must not hang the hypervisor.
    for (u32 spin = 0; spin < 100000 && !(x86::inb(kCom1 + kLsr) & kLsrThre); ++spin) {
    }
    x86::outb(kCom1 + kThr, static_cast<u8>(c));
}

} // namespace

void console_init() {
    x86::outb(kCom1 + kIer, 0);
    x86::outb(kCom1 + kLcr, kLcrDlab);
    x86::outb(kCom1 + kDll, kDivisor115200 & 0xff);
    x86::outb(kCom1 + kDlm, kDivisor115200 >> 8);
    x86::outb(kCom1 + kLcr, kLcr8N1);
    x86::outb(kCom1 + kFcr, kFcrEnableClear);
    x86::outb(kCom1 + kMcr, kMcrDtrRts);
}

// One piece per kprint call, whole: the lock keeps cores' lines (a multi-vCPU VM's
// cores print at once) from interleaving. Locked RMW works on x86 from the first line.
SpinLock g_console_lock;

void console_write(const char* s, usize n) {
    LockGuard g(g_console_lock);
    for (usize i = 0; i < n; ++i) {
        if (s[i] == '\n') putc('\r');
        putc(s[i]);
    }
}

} // namespace keel::arch
