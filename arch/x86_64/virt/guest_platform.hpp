// The machine an x86 VM sees, as constants the hypervisor and host tools share (the Linux
// boot benchmark gives bare QEMU the same ACPI description: tools/guest-x86-boot).
#pragma once

#include "../guest_acpi.hpp"
#include "hypervisor/types.hpp"

namespace keel::virt {

// The guest-visible machine (docs/x86-vmx.md; Linux VMs: docs/x86-linux.md): RAM, a scratch
// MMIO register window that echoes writes, COM1, the local and I/O APICs, the PIT's counter
// 2, the ACPI PM timer, sleep and reset registers, and the Keel hypercalls.
inline constexpr u64 kScratchBase = 0xfed00000, kScratchSize = 4096;
// A raw guest's RAM starts here; a Linux VM's at 0 (VmContext::ram_base).
inline constexpr u64 kRawRamBase = 0x40000000;
inline constexpr u8 kTimerVector = 0x20;
// A Linux VM's platform (guest_acpi.hpp describes it): the I/O APIC, the FADT's sleep
// control/status registers and its reset register (port 0xcf9, value 6: a hard reset).
inline constexpr u64 kIoapicBase = 0xfec00000, kIoapicWindow = 0x1000, kLapicBase = 0xfee00000;
inline constexpr u16 kSleepControlPort = 0x600, kSleepStatusPort = 0x601, kResetPort = 0xcf9,
                     kPmTimerPort = 0x608;
inline constexpr u8 kResetValue = 0x06;
// A VM with assigned VFs (docs/sriov.md "Guest view", x86): its PCIe hierarchy's ECAM
// (buses 0..kGuestEcamLastBus: the root ports, and one bus behind each), trapped and
// emulated (mmio.cpp), in GiB 3 as the VFs' BARs (arch::kGuestPciWindow): what a raw test
// guest's page tables map uncached. The VM's RAM must end below it.
inline constexpr u64 kGuestEcamBase = 0xe0000000;
inline constexpr u8 kGuestEcamLastBus = 4;
inline constexpr u64 kGuestEcamSize = (kGuestEcamLastBus + 1ull) << 20;

// The ACPI configuration of a Linux VM with `cpus` vCPUs whose APIC ids are `ids`.
constexpr x86::GuestAcpiConfig linux_acpi_config(u32 cpus, const u32* ids) {
    return x86::GuestAcpiConfig{
        cpus,       ids,         kIoapicBase, 0, kSleepControlPort, kSleepStatusPort,
        kResetPort, kResetValue, kPmTimerPort};
}

} // namespace keel::virt
