// A fine-grained clock for the mailbox's own timing figures (docs/performance.md,
// mailbox section), read through <arch/ticks.hpp> (arm64: the generic counter; under
// QEMU `-icount shift=0` one virtual nanosecond is one guest instruction, so ns here are
// instruction counts). Where the arch has no such counter it reads 0: no figures.
#pragma once

#include <arch/ticks.hpp>

#include "hypervisor/types.hpp"

namespace keel::mailbox {

struct Ticks {
    u64 count;
    u64 hz;
};

inline Ticks ticks_now() {
    const arch::TickCount t = arch::ticks();
    return {t.count, t.hz};
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
