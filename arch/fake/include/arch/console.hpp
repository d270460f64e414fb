// Fake arch console for host tests: output is captured in memory.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::arch {
void console_write(const char* s, usize n);
// Test helpers: the captured text since the last clear (NUL-terminated).
const char* fake_console_text();
void fake_console_clear();
} // namespace keel::arch
