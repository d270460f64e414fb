// Reads the Multiboot1 (QEMU -kernel) or Multiboot2 (GRUB) boot information into
// Keel's BootInfo: source, memory map, command line, and the ACPI RSDP. Runs on the
// early identity map (0-4 GiB), before the hypervisor's own tables hide that memory.
#pragma once

#include "hypervisor/boot_info.hpp"
#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::x86 {

// Values a loader leaves in EAX (Multiboot 0.6.96 3.2; Multiboot2 1.0 3.3).
inline constexpr u32 kMultiboot1Magic = 0x2badb002;
inline constexpr u32 kMultiboot2Magic = 0x36d76289;

// Fills source, mem, cmdline and rsdp. Multiboot2 hands over a copy of the RSDP,
// not its address: it is copied into `rsdp_copy` (inside the image, so it stays
// mapped) and bi.rsdp points there. Multiboot1 has no ACPI field: the RSDP is found
// by the BIOS-area scan (ACPI 6.5 5.2.5.1).
Status multiboot_fill(u32 magic, u32 info_pa, BootInfo& bi, u8* rsdp_copy, usize rsdp_copy_size);

} // namespace keel::x86
