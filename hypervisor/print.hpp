// Console formatting for the hypervisor: a small printf subset over arch::console_write.
// Supported: %s %c %d %i %u %x %X %p %% with flags '0' '-' '#' (0x prefix), a width, and length
// modifiers l, ll, z. Output is assembled per call and written in one piece, so lines
// from different CPUs do not interleave mid-line once the console lock is taken.
#pragma once

#include <stdarg.h>

#include "hypervisor/types.hpp"

namespace keel {

// Formats into buf (always NUL-terminated when size > 0); returns the length the full
// output would have had, like snprintf.
usize format(char* buf, usize size, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
usize vformat(char* buf, usize size, const char* fmt, va_list ap);

void kprint(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Hex dump of a byte string, lower-case, no separators (digests, keys).
void kprint_hex(const u8* data, usize len);

} // namespace keel
