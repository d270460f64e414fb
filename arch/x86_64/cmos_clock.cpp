#include "cmos_clock.hpp"

#include <string.h>

#include "hypervisor/print.hpp"
#include "virt/rtc.hpp"
#include "x86.hpp"

namespace keel::x86 {
namespace {

WallClock g_clock;

u8 cmos(u8 index) {
    outb(virt::kRtcIndexPort, index);
    return inb(virt::kRtcDataPort);
}

struct Raw {
    u8 r[7]; // seconds, minutes, hours, day, month, year, century
};

// Waits (bounded) for register A's update-in-progress bit to clear, then reads the time:
// an update starts at most every second and lasts under 2 ms (MC146818A data sheet).
bool read_raw(Raw& out) {
    u32 spins = 0;
    while (cmos(0x0a) & 0x80)
        if (++spins > 1000000) return false;
    constexpr u8 kIndex[7] = {0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32};
    for (u32 i = 0; i < 7; ++i)
        out.r[i] = cmos(kIndex[i]);
    return true;
}

} // namespace

void cmos_clock_init() {
    Raw a{}, b{};
    bool same = false;
    for (u32 tries = 0; tries < 5 && !same; ++tries)
        same = read_raw(a) && read_raw(b) && memcmp(a.r, b.r, sizeof a.r) == 0;
    const u64 tsc = __builtin_ia32_rdtsc();
    u64 secs = 0;
    if (same && virt::unix_from_rtc_registers(a.r, cmos(0x0b), &secs)) {
        g_clock = WallClock{secs, tsc};
        const virt::CivilTime t = virt::civil_from_unix(secs);
        kprint("x86_64: wall clock %04u-%02u-%02u %02u:%02u:%02u UTC (CMOS RTC)\n", t.year, t.month,
               t.day, t.hour, t.minute, t.second);
    } else {
        g_clock = WallClock{0, tsc};
        kprint("x86_64: no valid time in the CMOS RTC: VMs' clocks start at 1970-01-01\n");
    }
}

WallClock wall_clock() { return g_clock; }

} // namespace keel::x86
