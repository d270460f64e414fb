// x86_64 platform discovery: Multiboot memory map + ACPI (RSDP, RSDT/XSDT, MADT, MCFG).
#pragma once

#include "hypervisor/boot_info.hpp"
#include "hypervisor/platform.hpp"
#include "hypervisor/status.hpp"

namespace keel::arch {
Status discover_platform(const BootInfo& info, Platform& out);
}
