// The platform description from ACPI, for both arches: the same Platform the arm64
// device-tree reader fills (arch/arm64/dtb_platform.hpp), so the rest of Keel does not
// know which one the firmware gave. Memory is not read here: it comes from the boot
// memory map (UEFI or Multiboot), which is the authority on what is free.
#pragma once

#include "hypervisor/acpi/tables.hpp"
#include "hypervisor/platform.hpp"

namespace keel::acpi {

enum class Flavor : u32 { X86, Arm64 };

// Required: MADT (both), and on arm64 FADT (PSCI conduit) and SPCR (the console).
// Used when present: MCFG (ECAM), PPTT (topology, arm64), SRAT (NUMA). A table that is
// present but malformed fails the whole read: firmware that describes its CPUs wrongly
// is not partitioned on guesses. On failure *where (if given) names the table that
// failed ("RSDP/XSDT" for the directory).
Status read_platform(u64 rsdp_pa, const PhysReader& reader, Flavor flavor, Platform& out,
                     const char** where = nullptr);

} // namespace keel::acpi
