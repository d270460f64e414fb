// A fine-grained clock for the mailbox's own timing figures (docs/performance.md,
// mailbox section): the arm64 generic counter (CNTPCT_EL0, ARM DDI 0487 D12.1) read
// straight from the core, so the figures need no arch hook. Under QEMU
// `-icount shift=0` one virtual nanosecond is one guest instruction, so ns here are
// instruction counts. Elsewhere (x86_64 image, host tests) it reads 0: no figures.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::mailbox {

struct Ticks {
    u64 count;
    u64 hz;
};

inline Ticks ticks_now() {
#if defined(__aarch64__)
    u64 c, f;
    // ISB: the counter read is not hoisted above the work it is timing.
    asm volatile("isb\n mrs %0, cntpct_el0\n mrs %1, cntfrq_el0" : "=r"(c), "=r"(f)::"memory");
    return {c, f};
#else
    return {0, 0};
#endif
}

// Time between two readings in units of 1/per_second s, saturated to u32; 0 when
// there is no counter (or `a` was never taken).
inline u32 ticks_between(const Ticks& a, const Ticks& b, u64 per_second) {
    if (a.hz == 0 || b.count < a.count) return 0;
    // Whole seconds and the remainder apart: no 128-bit division in the image, and no
    // overflow for any counter rate up to a few GHz.
    const u64 d = b.count - a.count;
    const u64 secs = d / a.hz;
    if (secs >= 0xffffffffu / per_second + 1) return 0xffffffffu;
    const u64 t = secs * per_second + (d % a.hz) * per_second / a.hz;
    return t > 0xffffffffu ? 0xffffffffu : static_cast<u32>(t);
}
inline u32 ticks_ns(const Ticks& a, const Ticks& b) {
    return ticks_between(a, b, 1000000000u);
} // <= 4.29 s
inline u32 ticks_us(const Ticks& a, const Ticks& b) { return ticks_between(a, b, 1000000u); }

} // namespace keel::mailbox
