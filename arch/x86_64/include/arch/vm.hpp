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
// Assigned devices' BARs (unused until x86 assigns VFs: vm_map_device refuses).
inline constexpr GuestPhys kGuestPciWindow{0xc0000000};
inline constexpr u64 kGuestPciWindowSize = 4 * MiB;
// Not yet: no guest PCI view, MSI remapping into the virtual APIC or device mapping in
// EPT/NPT (vm_arch.cpp's vm_map_device). ATTACH_VF and `vf:` are refused up front, before
// any IOMMU domain is touched (docs/sriov.md).
inline constexpr bool kAssignsVfs = false;
inline constexpr u64 kGuestMsiDoorbell = 0xfee00000; // unused until x86 routes MSIs
inline constexpr u32 kGuestMsiFirst = 0;
inline constexpr u32 kGuestMsiCount = 0;
inline constexpr u64 kMsiMemoryBytes = 0; // no MSI controller tables yet
inline constexpr u64 kMsiMemoryAlign = 8;
// COM1's receive side takes console input (virt/devices.cpp).
inline constexpr bool kConsoleInput = true;

} // namespace keel::arch

#include "arch/vm_interface.hpp"
