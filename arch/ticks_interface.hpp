// A clock every arch provides (reached through <arch/ticks.hpp>): a free-running count and
// its rate (0 where the arch does not know it), and milliseconds since reset.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::arch {

struct TickCount {
    u64 count;
    u64 hz;
};

} // namespace keel::arch
