// Reads what Keel needs from a flattened device tree (Devicetree Specification v0.4):
// memory, CPUs (MPIDR from reg), GICv3, PL011, generic ECAM PCIe host, PSCI method,
// /chosen/bootargs. Pure libfdt logic: also built into the host unit tests.
#pragma once

#include "hypervisor/boot_info.hpp"
#include "hypervisor/platform.hpp"
#include "hypervisor/status.hpp"

namespace keel::arm64 {

// What /chosen holds besides bootargs, found by the same walk.
struct DtbChosen {
    const u8* rng_seed = nullptr; // Devicetree Specification v0.4 3.6, inside the DTB
    u32 rng_seed_len = 0;
};

// One walk over the whole tree: everything below, /chosen/bootargs into `bootargs`
// (truncated safely) and /chosen/rng-seed into `chosen`, each when it is given.
Status dtb_read_platform(const void* fdt, Platform& out, char* bootargs = nullptr,
                         usize bootargs_cap = 0, DtbChosen* chosen = nullptr);
// The boot path walks the tree once, before the MMU is on (boot.cpp), and every later
// reader takes that result (platform.cpp): the console UART, the boot info's memory and
// command line, the platform. The UART is the first enabled "arm,pl011".
struct DtbScan {
    const void* fdt = nullptr;        // the device tree read, or null on an ACPI boot
    u64 rsdp = 0;                     // the ACPI RSDP read (UEFI boot without a device tree)
    const char* acpi_where = nullptr; // on an ACPI failure: the table refused
    DtbChosen chosen;                 // device tree only
    Status status = Status::NotFound;
    Platform platform;
};
const DtbScan& boot_dtb_scan();

} // namespace keel::arm64
