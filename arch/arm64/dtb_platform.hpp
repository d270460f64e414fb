// Reads what Keel needs from a flattened device tree (Devicetree Specification v0.4):
// memory, CPUs (MPIDR from reg), GICv3, PL011, generic ECAM PCIe host, PSCI method,
// /chosen/bootargs. Pure libfdt logic: also built into the host unit tests.
#pragma once

#include "hypervisor/boot_info.hpp"
#include "hypervisor/platform.hpp"
#include "hypervisor/status.hpp"

namespace keel::arm64 {

// One walk over the whole tree: everything below, and /chosen/bootargs into `bootargs`
// (truncated safely) when it is given.
Status dtb_read_platform(const void* fdt, Platform& out, char* bootargs = nullptr,
                         usize bootargs_cap = 0);
// The boot path walks the tree once, before the MMU is on (boot.cpp), and every later
// reader takes that result (platform.cpp): the console UART, the boot info's memory and
// command line, the platform. The UART is the first enabled "arm,pl011".
struct DtbScan {
    const void* fdt = nullptr;        // the device tree read, or null on an ACPI boot
    u64 rsdp = 0;                     // the ACPI RSDP read (UEFI boot without a device tree)
    const char* acpi_where = nullptr; // on an ACPI failure: the table refused
    Status status = Status::NotFound;
    Platform platform;
};
const DtbScan& boot_dtb_scan();

} // namespace keel::arm64
