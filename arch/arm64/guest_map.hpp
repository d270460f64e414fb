// The guest-physical (IPA) map every arm64 VM sees, QEMU-virt-like so stock kernels
// need no board support: RAM at Vm::kRamIpa (0x40000000), the GICv3 frames (vgic.hpp),
// the emulated PL011 here. Pure constants: shared with the host unit tests.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::arm64 {

constexpr u64 kGuestUartIpa = 0x09000000;
constexpr u64 kGuestUartSize = 0x1000;
// A VM on a machine with assignable VFs sees a PCIe host bridge (docs/sriov.md "Guest view",
// "Hot-plug"): ECAM at QEMU virt's low ECAM address, trapped, for bus 0 (one hot-plug root
// port per 1 MiB slot of arch::kGuestPciWindow) and the buses behind the ports.
constexpr u64 kGuestEcamIpa = 0x3f000000;
constexpr u32 kGuestPciSlots = 4;
constexpr u64 kGuestEcamSize = (1 + kGuestPciSlots) * 0x100000;
// ... and a GICv2m MSI frame where QEMU virt has its own (vm_msi.cpp).
constexpr u64 kGuestMsiFrameIpa = 0x08020000;
constexpr u64 kGuestMsiFrameSize = 0x1000;

} // namespace keel::arm64
