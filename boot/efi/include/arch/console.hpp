// Boot-stage console: hypervisor/print.cpp formats, this writes through the UEFI
// console (ConOut), which OVMF/AAVMF mirror on the serial port.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::arch {
void console_write(const char* s, usize n);
} // namespace keel::arch
