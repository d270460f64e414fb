// The ACPI tables an x86 Linux VM boots with (ACPI 6.5): RSDP -> XSDT -> FADT (with the
// DSDT) and MADT, hardware-reduced (5.2.9 flag HW_REDUCED_ACPI, no PM1/GPE blocks, no
// SCI): power-off through the sleep control register (4.8.3.7; the DSDT's \_S5 gives
// SLP_TYP 5), reset through the FADT reset register. An optional PM timer (4.8.3.3) is
// the reference a guest calibrates its TSC against when CPUID does not name the rate
// (Linux on AMD: arch/x86/kernel/tsc.c falls back to it when PIT sampling fails). The MADT lists
// one local APIC per vCPU (x2APIC entries for ids from 255) and the VM's I/O APIC, no 8259
// (PCAT_COMPAT 0). Written once per VM start into the 64 KiB linux_boot.hpp places below 1 MiB;
// every table is read back by the shared reader in the host tests.
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
};
constexpr u32 kMaxGuestCpus = 64;
constexpr u8 kSleepTypeS5 = 5; // the \_S5 package's SLP_TYP, and what a power-off writes

// Writes the tables into buf (its guest-physical address `gpa`, the RSDP first): the bytes
// used, or 0 when cap is too small or the configuration is out of range.
usize build_guest_acpi(u8* buf, usize cap, u64 gpa, const GuestAcpiConfig& c);

} // namespace keel::x86
