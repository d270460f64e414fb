// The x86 platform from the ACPI tables at `rsdp` (platform.cpp): the shared reader's CPUs,
// interrupt controllers and PCI, then SMT siblings from the APIC ids (ACPI on x86 has no
// PPTT). Used at boot and by a live update's incoming image (docs/handover.md §5.1).
#pragma once

#include "hypervisor/acpi/tables.hpp"
#include "hypervisor/platform.hpp"

namespace keel::x86 {

[[nodiscard]] Status read_acpi_platform(u64 rsdp, const acpi::PhysReader& reader, Platform& out,
                                        const char** where);

} // namespace keel::x86
