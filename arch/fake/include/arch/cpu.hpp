// Fake arch CPU control for host tests: halting aborts the test process.
#pragma once

#include "hypervisor/platform.hpp"
#include "hypervisor/types.hpp"

namespace keel::arch {
inline constexpr const char* kArchName = "fake";
inline void cpu_relax() {}
[[noreturn]] void halt();
[[noreturn]] void power_off(u32 code);
} // namespace keel::arch
