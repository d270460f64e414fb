// PL011 UART output (ARM PrimeCell UART TRM DDI 0183: DR at 0x00, FR at 0x18,
// FR.TXFF bit 5). The firmware/QEMU has configured the line; we only transmit.
#include <arch/console.hpp>

#include "hypervisor/spinlock.hpp"
#include "sysreg.hpp"

namespace keel::arch {
namespace {
constexpr u64 kDefaultBase = 0x09000000; // QEMU virt, used until the DTB is read
constexpr u32 kDr = 0x00;
constexpr u32 kFr = 0x18;
constexpr u32 kFrTxff = 1u << 5;
u64 g_base = kDefaultBase;

void putc(u64 base, char c) {
    auto* fr = reinterpret_cast<volatile u32*>(base + kFr);
    auto* dr = reinterpret_cast<volatile u32*>(base + kDr);
    while (*fr & kFrTxff) {
    }
    *dr = static_cast<u8>(c);
}
} // namespace

void console_set_base(u64 base) { g_base = base; }
u64 console_base() { return g_base; }

// One line per kprint call, whole: the lock keeps cores' lines from interleaving.
// Exclusive loads need cacheable memory, so before the MMU is on (boot core alone) the
// lock is skipped (SCTLR_EL2.M, D17.2.120).
SpinLock g_console_lock;

void console_write(const char* s, usize n) {
    const bool locked = (KEEL_READ_SYSREG(sctlr_el2) & 1) != 0;
    if (locked) g_console_lock.lock();
    const u64 base = g_base; // read once: the stores to DR could alias it otherwise
    for (usize i = 0; i < n; ++i) {
        if (s[i] == '\n') putc(base, '\r');
        putc(base, s[i]);
    }
    if (locked) g_console_lock.unlock();
}

} // namespace keel::arch
