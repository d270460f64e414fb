// x86_64 clock: the TSC, its rate measured at boot (arch/x86_64/tsc.hpp; 0 before that or
// where nothing could measure it, and then the mailbox's figures and now_ms read 0).
#pragma once

#include "arch/ticks_interface.hpp"

namespace keel::x86 {
u64 tsc_hz();
}

namespace keel::arch {

inline TickCount ticks() {
    u32 lo, hi;
    asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return {(static_cast<u64>(hi) << 32) | lo, x86::tsc_hz()};
}

// Milliseconds since reset (the TSC counts from it), whole seconds and the rest apart so
// nothing overflows.
inline u64 now_ms() {
    const TickCount t = ticks();
    if (t.hz == 0) return 0;
    return t.count / t.hz * 1000 + t.count % t.hz * 1000 / t.hz;
}

} // namespace keel::arch
