// Readers for the individual ACPI tables Keel uses, each over a table already checked by
// open() (tables.hpp): `t` points at the table's first byte, `len` is its length. Each
// checks its own fields against `len` and leaves `out` as it was on any error except
// where it says otherwise. Section numbers: ACPI 6.5 unless named.
#pragma once

#include "hypervisor/platform.hpp"
#include "hypervisor/status.hpp"

namespace keel::acpi {

// MCFG (PCI Firmware Specification 3.3, 4.1.2): the ECAM window of segment 0.
Status read_mcfg(const u8* t, u32 len, Platform& out);

// FADT (5.2.9) ARM_BOOT_ARCH flags (table 5.11): the PSCI conduit. Not PSCI compliant
// leaves out.psci None.
Status read_fadt_arm(const u8* t, u32 len, Platform& out);

// SPCR (Microsoft Serial Port Console Redirection Table, rev 2+): the console's base
// address when it is an MMIO PL011 / SBSA generic UART. Another kind: Unsupported.
Status read_spcr_pl011(const u8* t, u32 len, Platform& out);

// PPTT (5.2.30): package / core / thread of every CPU in out.cpus, matched by ACPI
// processor UID; sets out.topology_known. A CPU the table does not place, a parent
// outside the table or a loop: Corrupt.
Status read_pptt(const u8* t, u32 len, Platform& out);

// SRAT (5.2.16): each CPU's proximity domain (by APIC id, x2APIC id or ACPI processor
// UID) and the memory ranges' domains (out.mem_nodes).
Status read_srat(const u8* t, u32 len, Platform& out);

// GTDT (5.2.25): the generic timers' interrupts (out.timers); each must be a PPI.
Status read_gtdt(const u8* t, u32 len, Platform& out);

// IORT (Arm DEN 0049): the SMMUv3s (out.smmus) and, for PCI segment 0, where each range
// of requester IDs goes (out.pci_ids): its SMMU and stream IDs, and its ITS device IDs
// through that SMMU's own mapping. A node or ID array outside the table, or a mapping to
// something that is not a node: Corrupt; an SMMUv1/v2 target: Unsupported.
Status read_iort(const u8* t, u32 len, Platform& out);

// DMAR (Intel VT-d spec, chapter 8): the DMA remapping units (out.vtd), the PCI functions
// their device scopes name (out.vtd_scopes), the address width, whether interrupt
// remapping exists and how many reserved memory regions (RMRR) firmware declared. A
// structure or scope entry outside the table or a misaligned register base: Corrupt.
Status read_dmar(const u8* t, u32 len, Platform& out);

} // namespace keel::acpi
