// arm64 clock: the generic counter (CNTPCT_EL0 at CNTFRQ_EL0, ARM DDI 0487 D12.1).
#pragma once

#include "arch/ticks_interface.hpp"

namespace keel::arch {

inline TickCount ticks() {
    u64 c, f;
    // ISB: the counter read is not hoisted above the work it is timing.
    asm volatile("isb\n mrs %0, cntpct_el0\n mrs %1, cntfrq_el0" : "=r"(c), "=r"(f)::"memory");
    return {c, f};
}

inline u64 now_ms() {
    const TickCount t = ticks();
    return t.hz ? (t.count / t.hz) * 1000 + (t.count % t.hz) * 1000 / t.hz : 0;
}

} // namespace keel::arch
