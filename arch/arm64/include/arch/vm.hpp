// arm64 VMs (arch/vm_interface.hpp): stage-2 partitions on QEMU virt's guest platform.
#pragma once

#include "arch/arm64/vm_context.hpp"

namespace keel::arch {

using VmContext = arm64::VmContext;
// Guest RAM starts where QEMU virt's does; the guest DTB (guest_dtb.cpp) says so.
inline constexpr GuestPhys kGuestRamBase{0x40000000};
inline GuestPhys guest_ram_base(const VmContext&) { return kGuestRamBase; }
// Where a VM's assigned VFs' BARs appear: QEMU virt's 32-bit PCIe MMIO window, one
// 1 MiB slot per VF (docs/sriov.md "Guest view").
inline constexpr GuestPhys kGuestPciWindow{0x10000000};
inline constexpr u64 kGuestPciWindowSize = 4 * MiB;
// VFs are assigned to VMs (hypervisor/io/vm_vfs.cpp, docs/sriov.md "Assignment").
inline constexpr bool kAssignsVfs = true;
// The MSI controller names a device by the platform's ITS device ID (Platform::pci_route);
// the MSI doorbell is a page the device writes, so its DMA map must include it.
inline constexpr bool kMsiDeviceIsRequesterId = false;
inline constexpr bool kMsiDoorbellInDmaMap = true;
// How the console names an assigned VF's MSI route (hypervisor/io/vm_vfs.cpp).
inline constexpr const char* kMsiDeviceName = "ITS device";
// What the console calls the MSI controller (a live update's "I/O adopted" line).
inline constexpr const char* kMsiControllerName = "ITS";
inline constexpr const char* kMsiTokenName = "LPIs";
inline constexpr const char* kGuestMsiTarget = "guest frame SPIs 48..63";
// A VM with VFs has a GICv2m MSI frame (docs/sriov.md "MSI-X"): the guest's MSIs are writes
// of an SPI number to its MSI_SETSPI_NS register, SPIs 48..63.
inline constexpr u64 kGuestMsiDoorbell = 0x08020040;
inline constexpr u32 kGuestMsiFirst = 48;
inline constexpr u32 kGuestMsiCount = 16;
// The ITS's tables and the LPI configuration and pending tables (its.cpp), in memory the
// caller gives (msi_use_memory): 64 KiB aligned for the pending table.
inline constexpr u64 kMsiMemoryBytes = 128 * KiB;
inline constexpr u64 kMsiMemoryAlign = 64 * KiB;
// The emulated PL011 has a receive side.
inline constexpr bool kConsoleInput = true;

} // namespace keel::arch

#include "arch/vm_interface.hpp"
