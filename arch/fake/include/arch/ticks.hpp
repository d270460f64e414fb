// The fake arch's clock: a counter the test sets (fake_vm.hpp), 1 kHz.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::arch {

struct TickCount {
    u64 count;
    u64 hz;
};
u64 now_ms();
inline TickCount ticks() { return {now_ms(), 1000}; }

} // namespace keel::arch
