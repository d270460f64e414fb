// The fake arch's clock: a counter the test sets (fake_vm.hpp), 1 kHz.
#pragma once

#include "arch/ticks_interface.hpp"

namespace keel::arch {
u64 now_ms();
inline TickCount ticks() { return {now_ms(), 1000}; }

} // namespace keel::arch
