// Reads what Keel needs from a flattened device tree (Devicetree Specification v0.4):
// memory, CPUs (MPIDR from reg), GICv3, PL011, generic ECAM PCIe host, PSCI method,
// /chosen/bootargs. Pure libfdt logic: also built into the host unit tests.
#pragma once

#include "hypervisor/boot_info.hpp"
#include "hypervisor/platform.hpp"
#include "hypervisor/status.hpp"

namespace keel::arm64 {

Status dtb_read_platform(const void* fdt, Platform& out);
// Copies memory ranges and bootargs into the boot info (truncating bootargs safely).
Status dtb_fill_boot_info(const void* fdt, BootInfo& info);
// Base of the first "arm,pl011" node, 0 if none.
u64 dtb_find_uart(const void* fdt);

} // namespace keel::arm64
