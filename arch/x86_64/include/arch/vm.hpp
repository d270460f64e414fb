// x86_64 VMs (arch/vm_interface.hpp): VT-x/EPT (vmx/) or SVM/NPT (svm/) partitions, chosen at boot
// (virt/).
#pragma once

#include "arch/x86_64/virt/vm_context.hpp"

namespace keel::arch {

using VmContext = virt::VmContext;
// Guest RAM at 1 GiB, as on arm64 (docs/x86-vmx.md); below it only the SIPI alias.
inline constexpr GuestPhys kGuestRamBase{0x40000000};
// Assigned devices' BARs (unused until x86 has an IOMMU driver: vm_map_device refuses).
inline constexpr GuestPhys kGuestPciWindow{0xc0000000};
inline constexpr u64 kGuestPciWindowSize = 4 * MiB;
inline constexpr u64 kGuestMsiDoorbell = 0xfee00000; // unused until x86 routes MSIs
inline constexpr u32 kGuestMsiFirst = 0;
inline constexpr u32 kGuestMsiCount = 0;
// The emulated 16550 has no receive side yet.
inline constexpr bool kConsoleInput = false;

} // namespace keel::arch

#include "arch/vm_interface.hpp"
