// MADT (ACPI 6.5 5.2.12): the CPUs and the interrupt controller, for both arches.
#pragma once

#include "hypervisor/platform.hpp"
#include "hypervisor/status.hpp"

namespace keel::acpi {

// Fills out.cpus (x86: local APIC / x2APIC ids; arm64: GICC MPIDR affinity), each with
// its ACPI processor UID, and the interrupt controller: x86 irq_kind Apic with the first
// I/O APIC and the local APIC address; arm64 GICv2/v3 from the GICD with the GICR range
// and the first ITS. A MADT with no enabled CPU is NotFound.
Status read_madt(const u8* t, u32 len, Platform& out);

} // namespace keel::acpi
