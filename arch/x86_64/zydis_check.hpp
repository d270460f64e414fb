// Start-up self-check of the Zydis decoder the x86 exit handlers will rely on to
// emulate MMIO accesses (SVM on QEMU has no decode assists: PLATFORMS.md).
#pragma once

#include "hypervisor/status.hpp"

namespace keel::x86 {
Status zydis_self_check();
}
