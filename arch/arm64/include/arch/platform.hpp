// arm64 platform discovery: parses the flattened device tree with libfdt.
#pragma once

#include "hypervisor/boot_info.hpp"
#include "hypervisor/platform.hpp"
#include "hypervisor/status.hpp"

namespace keel::arch {
Status discover_platform(const BootInfo& info, Platform& out);
}
