// ACPI table reader (ACPI 6.5 chapter 5.2): RSDP -> RSDT/XSDT -> MADT (CPUs, I/O APIC,
// local APIC) and MCFG (PCIe ECAM). Pure logic over a "map this physical range"
// callback, so it also runs in the host unit tests (tests/unit/acpi_test.cpp).
// Every length and checksum is checked; malformed tables give a Status, never a
// read outside what the callback mapped.
#pragma once

#include "hypervisor/platform.hpp"
#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::x86 {

// Makes [pa, pa+size) readable and returns a pointer to its first byte, or nullptr
// when the range cannot be mapped. Called again with a larger size once a table's
// length is known.
struct PhysReader {
    const u8* (*map)(void* ctx, u64 pa, u64 size);
    void* ctx;
};

inline constexpr u64 kAcpiMaxTableSize = 1 * MiB; // sanity bound on any table length

// Scans a BIOS memory window for the RSDP ("RSD PTR " on a 16-byte boundary with a
// valid ACPI 1.0 checksum, ACPI 6.5 5.2.5.1). Returns its offset in the window.
Result<usize> acpi_find_rsdp(const u8* window, usize len);

// Fills out.cpus, irq_kind/irq_dist_base (first I/O APIC)/irq_redist_base (local
// APIC) from the MADT and ecam_* / pci_bus_* from the MCFG (segment 0) if present.
Status acpi_read_platform(u64 rsdp_pa, const PhysReader& reader, Platform& out);

} // namespace keel::x86
