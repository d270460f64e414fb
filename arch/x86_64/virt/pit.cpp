#include "pit.hpp"

namespace keel::virt {
namespace {

u64 ticks(const Pit& p, u64 now) {
    if (!p.counting || p.tsc_hz == 0 || !(p.port61 & 1)) return 0;
    const u64 d = now - p.start_tsc;
    // d * kPitHz / tsc_hz without overflow (the remainder times kPitHz stays below 2^64
    // for any TSC rate under 2^43 Hz).
    return d / p.tsc_hz * kPitHz + d % p.tsc_hz * kPitHz / p.tsc_hz;
}

// The down-counter: the reload value (0 = 65536) minus the ticks since the start, mod 2^16.
u16 count(const Pit& p, u64 now) {
    const u64 n = p.reload == 0 ? 65536 : p.reload;
    return static_cast<u16>((n - ticks(p, now)) & 0xffff);
}

bool out2(const Pit& p, u64 now) {
    if (!p.counting) return false;
    const u64 n = p.reload == 0 ? 65536 : p.reload;
    return ticks(p, now) >= n; // mode 0: high at terminal count
}

} // namespace

void pit_reset(Pit& p, u64 tsc_hz) {
    p = Pit{};
    p.tsc_hz = tsc_hz;
    p.access = 3;
}

void pit_write(Pit& p, u16 port, u8 value, u64 now) {
    if (port == 0x61) {
        // Gate low->high restarts a mode-0 count (82C54: counting is enabled by the gate).
        if ((value & 1) && !(p.port61 & 1) && p.counting) p.start_tsc = now;
        p.port61 = value & 3;
        return;
    }
    if (port == 0x43) {
        if ((value >> 6) != 2) return; // channels 0 and 1 are absent; read-back ignored
        const u8 access = (value >> 4) & 3;
        if (access == 0) { // counter latch
            if (!p.latched) p.latched = true, p.latch = count(p, now), p.read_hi = false;
            return;
        }
        p.access = access;
        p.mode = (value >> 1) & 7;
        if (p.mode > 5) p.mode = static_cast<u8>(p.mode - 4);
        p.write_hi = p.read_hi = false;
        p.latched = false;
        p.counting = false; // a control word stops the counter until a count is written
        return;
    }
    if (port != 0x42) return;
    if (p.access == 1) {
        p.reload = value;
    } else if (p.access == 2) {
        p.reload = static_cast<u16>(value << 8);
    } else if (!p.write_hi) {
        p.reload = static_cast<u16>((p.reload & 0xff00) | value);
        p.write_hi = true;
        return; // counting starts once the whole count is written
    } else {
        p.reload = static_cast<u16>((p.reload & 0x00ff) | (value << 8));
        p.write_hi = false;
    }
    p.start_tsc = now;
    p.counting = true;
}

u8 pit_read(Pit& p, u16 port, u64 now) {
    if (port == 0x61) // refresh toggle (bit 4) follows the PIT's 15 us period
        return static_cast<u8>(p.port61 | (out2(p, now) ? 0x20 : 0) |
                               ((ticks(p, now) / 18) & 1 ? 0x10 : 0));
    if (port != 0x42) return 0xff;
    const u16 c = p.latched ? p.latch : count(p, now);
    u8 b;
    if (p.access == 1)
        b = static_cast<u8>(c);
    else if (p.access == 2)
        b = static_cast<u8>(c >> 8);
    else {
        b = static_cast<u8>(p.read_hi ? c >> 8 : c);
        p.read_hi = !p.read_hi;
    }
    if (p.latched && (p.access != 3 || !p.read_hi)) p.latched = false; // latch fully read
    return b;
}

} // namespace keel::virt
