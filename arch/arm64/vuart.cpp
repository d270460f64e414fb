// PL011 emulation (DDI 0183 3.3 register summary). Interrupt model as QEMU's own PL011,
// which Linux's driver is known to work with: TX raises TXRIS on every DR write (the
// FIFO drains at once), RX raises RXRIS while visible input waits (an ICR write cannot
// clear it then); ICR clears the rest; the SPI is the level (RIS & IMSC) != 0.
#include "vuart.hpp"

#include <string.h>

#include "hypervisor/print.hpp"
#include "hypervisor/vm/vm.hpp"
#include "vgic.hpp"
#include "vm_arch.hpp"

namespace keel::arm64 {
namespace {

constexpr u32 kDr = 0x00, kRsr = 0x04, kFr = 0x18, kIlpr = 0x20, kIbrd = 0x24, kFbrd = 0x28;
constexpr u32 kLcrH = 0x2c, kCr = 0x30, kIfls = 0x34, kImsc = 0x38, kRis = 0x3c, kMis = 0x40;
constexpr u32 kIcr = 0x44, kDmacr = 0x48, kPeriphId = 0xfe0;
constexpr u32 kFrRxfe = 1u << 4, kFrRxff = 1u << 6, kFrTxfe = 1u << 7;
constexpr u32 kIntRx = 1u << 4, kIntTx = 1u << 5;
constexpr u32 kCrUarten = 1u << 0, kCrRxe = 1u << 9;
// PeriphID0-3 and CellID0-3 at 0xfe0..0xffc: PL011 r1p5, PrimeCell.
constexpr u8 kIds[8] = {0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};

// Input is visible only while the guest's driver has RX open: from the write to IMSC
// that sets RXIM while RXIM is already set (Linux's pl011_enable_interrupts, after
// pl011_hwinit enabled it once and after the drain loop, which so finds the FIFO
// empty) until a CR write clears RXE or UARTEN (pl011_shutdown). Masking RXIM alone
// (RX throttling) does not close it.
bool rx_visible(const VUart& u) { return u.rx_open && (u.cr & kCrRxe) && (u.cr & kCrUarten); }

// RXRIS follows the queue (trigger level one byte): raised while visible input waits.
void rx_update(VUart& u) {
    if (rx_visible(u) && u.rx_count)
        u.ris |= kIntRx;
    else
        u.ris &= ~kIntRx;
}

usize push_locked(VUart& u, const char* data, usize len) {
    usize n = 0;
    for (; n < len && u.rx_count < VUart::kRxSize; ++n) {
        u.rx[(u.rx_head + u.rx_count) % VUart::kRxSize] = static_cast<u8>(data[n]);
        ++u.rx_count;
    }
    return n;
}

// Moves the definition's input (vm_def.cpp made its '+' newlines) into the queue as
// space allows.
void refill(VUart& u) {
    while (u.pending_input && *u.pending_input && u.rx_count < VUart::kRxSize)
        push_locked(u, u.pending_input++, 1);
    if (u.pending_input && !*u.pending_input) u.pending_input = nullptr;
}

void tx(Vm& vm, VUart& u, char ch) {
    vm.console_out(&ch, 1); // e.g. the controller console ring (docs/mailbox.md §6)
    if (ch != '\n' && ch != '\r') u.line[u.line_len++] = ch;
    if (ch == '\n' || u.line_len == sizeof u.line - 1) {
        u.line[u.line_len] = '\0';
        kprint("[vm %u] %s\n", vm.id, u.line);
        // A benchmark's marker (bench/sriov_io.sh): the VM's counters as they stand at the
        // marker's last character, so a guest program can take differences between two.
        if (memcmp(u.line, "KEEL-BENCH:", 11) == 0)
            kprint("vm %u: bench counters: %u exits, %u irq exits, %u msis, %llu handling ticks\n",
                   vm.id, vm.stats.exits, vm.stats.irq_exits, vm.stats.msis,
                   static_cast<unsigned long long>(vm.stats.handling_ticks));
        u.line_len = 0;
        stat_inc(vm.stats.console_lines);
    }
}

} // namespace

void vuart_init(VUart& u, const char* input) {
    u.cr = 0x300; // TXE | RXE, as after reset
    u.lcr_h = u.ibrd = u.fbrd = u.ifls = u.imsc = u.ris = u.dmacr = u.ilpr = 0;
    u.ifls = 0x12;
    u.rx_head = u.rx_count = u.rx_open = 0;
    u.line_len = 0;
    u.pending_input = (input && *input) ? input : nullptr;
    refill(u);
}

void vuart_mmio(Vcpu& v, u64 off, bool write, u64* value) {
    Vm& vm = *v.vm;
    VUart& u = vm.arch.uart;
    bool level;
    {
        LockGuard g(u.lock);
        const u32 val = static_cast<u32>(*value);
        u64 r = 0;
        switch (off) {
        case kDr:
            if (write) {
                tx(vm, u, static_cast<char>(val & 0xff));
                u.ris |= kIntTx;
            } else if (rx_visible(u) && u.rx_count) {
                r = u.rx[u.rx_head];
                u.rx_head = (u.rx_head + 1) % VUart::kRxSize;
                --u.rx_count;
                refill(u);
            }
            break;
        case kRsr: break; // no errors to report; writes clear them
        case kFr:
            if (!rx_visible(u))
                r = kFrTxfe | kFrRxfe;
            else
                r = kFrTxfe | (u.rx_count == 0 ? kFrRxfe : 0) |
                    (u.rx_count == VUart::kRxSize ? kFrRxff : 0);
            break;
        case kIlpr:
            if (write)
                u.ilpr = val;
            else
                r = u.ilpr;
            break;
        case kIbrd:
            if (write)
                u.ibrd = val & 0xffff;
            else
                r = u.ibrd;
            break;
        case kFbrd:
            if (write)
                u.fbrd = val & 0x3f;
            else
                r = u.fbrd;
            break;
        case kLcrH:
            if (write)
                u.lcr_h = val & 0xff;
            else
                r = u.lcr_h;
            break;
        case kCr:
            if (!write) {
                r = u.cr;
                break;
            }
            u.cr = val & 0xffff;
            if (!(u.cr & kCrRxe) || !(u.cr & kCrUarten)) u.rx_open = 0;
            break;
        case kIfls:
            if (write)
                u.ifls = val & 0x3f;
            else
                r = u.ifls;
            break;
        case kImsc:
            if (!write) {
                r = u.imsc;
                break;
            }
            if ((u.imsc & kIntRx) && (val & kIntRx)) u.rx_open = 1;
            u.imsc = val & 0x7ff;
            break;
        case kRis: r = u.ris; break;
        case kMis: r = u.ris & u.imsc; break;
        case kIcr:
            if (write) u.ris &= ~val;
            break;
        case kDmacr:
            if (write)
                u.dmacr = val & 7;
            else
                r = u.dmacr;
            break;
        default:
            if (!write && off >= kPeriphId && off < kPeriphId + 32 && (off & 3) == 0)
                r = kIds[(off - kPeriphId) / 4];
            break;
        }
        rx_update(u);
        if (!write) *value = r;
        level = (u.ris & u.imsc) != 0;
    }
    vgic_spi_level(vm, kVuartSpi, level);
}

usize vuart_push_rx(Vm& vm, const char* data, usize len) {
    VUart& u = vm.arch.uart;
    usize n = 0;
    bool level;
    {
        LockGuard g(u.lock);
        n = push_locked(u, data, len);
        rx_update(u);
        level = (u.ris & u.imsc) != 0;
    }
    vgic_spi_level(vm, kVuartSpi, level);
    return n;
}

} // namespace keel::arm64
