// arm64 console: the PL011 UART the device tree names (QEMU virt: 0x09000000).
#pragma once

#include "hypervisor/types.hpp"

namespace keel::arch {
void console_write(const char* s, usize n);
void console_set_base(u64 base);
u64 console_base(); // live update hands it to the incoming image (docs/handover.md §4.3)
} // namespace keel::arch
