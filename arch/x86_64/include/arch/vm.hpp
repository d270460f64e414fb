// x86_64 VMs (arch/vm_interface.hpp): VT-x/EPT (vmx/) or SVM/NPT (svm/) partitions, chosen at boot
// (virt/).
#pragma once

#include "arch/x86_64/virt/vm_context.hpp"

namespace keel::arch {

using VmContext = virt::VmContext;
// Guest RAM at 1 GiB for raw guests, as on arm64 (docs/x86-vmx.md; below it only the SIPI
// alias); a Linux VM's RAM starts at 0 (vm_prepare moves it there: linux_vm.cpp).
inline constexpr GuestPhys kGuestRamBase{virt::kRawRamBase};
inline GuestPhys guest_ram_base(const VmContext& c) { return GuestPhys(c.ram_base); }
// Assigned VFs' BARs (docs/sriov.md "Guest view", x86): one 1 MiB slot per VF, above the
// guest's ECAM (virt/guest_platform.hpp) in the 32-bit hole; the ACPI host bridge's _CRS
// names this window (guest_acpi.hpp).
inline constexpr GuestPhys kGuestPciWindow{0xc0000000};
inline constexpr u64 kGuestPciWindowSize = 4 * MiB;
// VFs are assigned to Linux VMs (hypervisor/io/vm_vfs.cpp; MSIs through VT-d interrupt
// remapping into the virtual APICs, virt/vm_msi.cpp). A VF can leave a running VM: its
// cores drop their EPT/NPT translations before the unmap returns (vm_arch.cpp).
inline constexpr bool kAssignsVfs = true;
// The MSI controller is the VT-d unit's remapping table: entries checked against the VF's
// requester ID; an MSI is an interrupt request, not a DMA write (no doorbell page mapped).
inline constexpr bool kMsiDeviceIsRequesterId = true;
inline constexpr bool kMsiDoorbellInDmaMap = false;
inline constexpr const char* kMsiDeviceName = "VT-d IRTEs for source";
// What the console calls the MSI controller (a live update's "I/O adopted" line).
inline constexpr const char* kMsiControllerName = "interrupt remapping";
inline constexpr const char* kMsiTokenName = "host vectors";
inline constexpr const char* kGuestMsiTarget = "guest local APICs";
inline constexpr u64 kMsiMemoryBytes = 0; // the remapping table is the VT-d driver's
inline constexpr u64 kMsiMemoryAlign = 8;
// COM1's receive side takes console input (virt/devices.cpp).
inline constexpr bool kConsoleInput = true;

} // namespace keel::arch

#include "arch/vm_interface.hpp"
