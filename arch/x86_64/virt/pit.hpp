// The i8254 PIT's channel 2 and port 0x61 as a VM sees them (Intel 82C54 data sheet;
// the PC's port 0x61: bit 0 gate 2, bit 1 speaker, bit 5 OUT2), driven by the TSC: the
// one timer a PC guest calibrates its TSC against when nothing else names the rate
// (Linux on AMD: quick_pit_calibrate, pit_calibrate_tsc). Channel 2 only; channels 0/1
// are absent (hardware-reduced ACPI has no PIT interrupt). Mode 0 (interrupt on terminal
// count) and the others as a down-counter from the reload value; lo/hi, lo-only, hi-only
// access; the counter-latch command. Pure (tests/unit/x86_pit_test.cpp).
#pragma once

#include "hypervisor/types.hpp"

namespace keel::virt {

inline constexpr u64 kPitHz = 1193182;

struct Pit {
    u8 port61;     // gate 2 and speaker bits as written
    u8 access;     // 1 lo, 2 hi, 3 lo then hi
    u8 mode;       // 0-5
    bool write_hi; // lo/hi access: the next byte written is the high one
    bool read_hi;  // lo/hi access: the next byte read is the high one
    bool latched;  // a counter-latch command holds `latch`
    u16 latch;
    u16 reload;    // the value written
    u64 start_tsc; // when counting began (while `counting`)
    bool counting;
    u64 tsc_hz;
};

void pit_reset(Pit& p, u64 tsc_hz);
void pit_write(Pit& p, u16 port, u8 value, u64 now); // 0x42, 0x43, 0x61
u8 pit_read(Pit& p, u16 port, u64 now);

} // namespace keel::virt
