// x86_64 clock: the TSC. Its rate is not known to Keel yet (no calibration), so `hz` is
// 0 and the mailbox's timing figures read 0 (hypervisor/mailbox/ticks.hpp).
#pragma once

#include "arch/ticks_interface.hpp"

namespace keel::arch {

inline TickCount ticks() {
    u32 lo, hi;
    asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return {(static_cast<u64>(hi) << 32) | lo, 0};
}

inline u64 now_ms() { return 0; }

} // namespace keel::arch
