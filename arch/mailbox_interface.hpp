// The mailbox transport every arch provides (reached through <arch/mailbox.hpp>):
// device mappings for the hypervisor, where the PCIe host bridge's windows are, and
// cache maintenance for devices that do not snoop.
#pragma once

#include "drivers/pci/bar_place.hpp"
#include "hypervisor/boot_info.hpp"

namespace keel::arch {

// Identity-maps device memory (ECAM, the BAR) for the hypervisor, read-write, never executable.
[[nodiscard]] Status mailbox_map_device(u64 addr, u64 size);
// The host bridge's memory windows; returns how many were written.
u32 pci_windows(const BootInfo& info, pci::Window* out, u32 max);
// Exclusive upper bound of what mailbox_map_device can map.
[[nodiscard]] u64 mailbox_addr_limit();
// Makes the CPU's writes to [p, p + size) visible to a device that reads memory without
// snooping the caches (an IOMMU whose table walks are not coherent): x86 CLFLUSH, arm64
// DC CVAC, each followed by a barrier.
void dma_clean(const void* p, u64 size);

} // namespace keel::arch
