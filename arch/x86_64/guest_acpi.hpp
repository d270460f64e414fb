// The ACPI tables an x86 Linux VM boots with (ACPI 6.5): RSDP -> XSDT -> FADT (with the
// DSDT) and MADT, hardware-reduced (5.2.9 flag HW_REDUCED_ACPI, no PM1/GPE blocks, no
// SCI): power-off through the sleep control register (4.8.3.7; the DSDT's \_S5 gives
// SLP_TYP 5), reset through the FADT reset register. An optional PM timer (4.8.3.3) is
// the reference a guest calibrates its TSC against when CPUID does not name the rate
// (Linux on AMD: arch/x86/kernel/tsc.c falls back to it when PIT sampling fails). The MADT lists
// one local APIC per vCPU (x2APIC entries for ids from 255) and the VM's I/O APIC, no 8259
// (PCAT_COMPAT 0). Written once per VM start into the 64 KiB linux_boot.hpp places below 1 MiB;
// every table is read back by the shared reader in the host tests.
//
// PCI (when ecam_base is set: a VM with assigned PCIe functions): an MCFG with one ECAM
// window (segment 0, buses 0..ecam_last_bus), and in the DSDT a PCI Express host bridge
// \_SB.PCI0 (PNP0A08, compatible PNP0A03) whose _CRS produces those buses and one 32-bit
// MMIO window for the BARs, plus \_SB.MRES (PNP0C02) whose _CRS reserves the ECAM window.
// Linux x86 needs all three: it creates PCI root buses from the host bridges in the ACPI
// namespace (drivers/acpi/pci_root.c, arch/x86/pci/acpi.c), not from the MCFG, and uses an
// MCFG window only where a PNP0C01/PNP0C02 _CRS reserves it (arch/x86/pci/mmconfig-shared.c:
// "not reserved in ACPI motherboard resources", then no ECAM and no extended config space).
// PCI0's _OSC returns the capabilities buffer the OS passes, so every control it asks for
// (native PCIe hot-plug, PME, AER, the PCIe capability structure) is granted.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::x86 {

struct GuestAcpiConfig {
    u32 cpus;            // vCPUs, 1..kMaxGuestCpus
    const u32* apic_ids; // their local APIC ids, vCPU order
    u64 ioapic_base;     // the virtual I/O APIC's MMIO base
    u8 ioapic_id;
    u16 sleep_control_port; // I/O ports Keel intercepts
    u16 sleep_status_port;
    u16 reset_port;
    u8 reset_value;
    u16 pm_timer_port; // the 32-bit ACPI PM timer (3.579545 MHz); 0 = none
    // PCI: the ECAM window of bus 0 (below 4 GiB; 0 = no PCI, and none of what follows),
    // its last bus (the window is (ecam_last_bus + 1) MiB), and the host bridge's 32-bit
    // MMIO window for BARs (size nonzero, ending at or below 4 GiB).
    u64 ecam_base = 0;
    u8 ecam_last_bus = 0;
    u32 pci_window = 0;
    u32 pci_window_size = 0;
};
constexpr u32 kMaxGuestCpus = 64;
constexpr u8 kSleepTypeS5 = 5; // the \_S5 package's SLP_TYP, and what a power-off writes

// Writes the tables into buf (its guest-physical address `gpa`, the RSDP first): the bytes
// used, or 0 when cap is too small or the configuration is out of range.
usize build_guest_acpi(u8* buf, usize cap, u64 gpa, const GuestAcpiConfig& c);

} // namespace keel::x86
