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
// COM1's receive side takes console input (virt/devices.cpp).
inline constexpr bool kConsoleInput = true;

} // namespace keel::arch

#include "arch/vm_interface.hpp"
