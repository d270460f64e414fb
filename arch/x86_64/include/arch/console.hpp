// x86_64 console: the 16550 UART at I/O port 0x3f8 (COM1).
#pragma once

#include "hypervisor/types.hpp"

namespace keel::arch {
// Programs COM1 for 115200 8N1 with FIFOs; called first thing in x86_boot_main.
void console_init();
void console_write(const char* s, usize n);
} // namespace keel::arch
