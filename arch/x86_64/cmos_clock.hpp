// The platform's wall clock: the PC's MC146818 real-time clock (ports 0x70/0x71), read
// once on the boot CPU at boot, after the TSC's rate is known. VMs' clocks (virt/rtc.hpp)
// run from that reading plus the TSC. The hypervisor owns the physical RTC: no guest
// reaches its ports.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::x86 {

struct WallClock {
    u64 unix_seconds; // 0: the RTC did not give a valid time
    u64 tsc;          // the TSC when it was read
};

// Reads the RTC (waiting out an update in progress, twice until two reads agree) and
// prints what it found.
void cmos_clock_init();
WallClock wall_clock();

} // namespace keel::x86
