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

// Nanoseconds between two readings, saturated to u32 (4.29 s).
inline u32 ticks_ns(const Ticks& a, const Ticks& b) {
    if (a.hz == 0 || b.count < a.count) return 0;
    const unsigned __int128 ns = static_cast<unsigned __int128>(b.count - a.count) * 1000000000u / a.hz;
    return ns > 0xffffffffu ? 0xffffffffu : static_cast<u32>(ns);
}

} // namespace keel::mailbox
