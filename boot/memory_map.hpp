// The UEFI memory map into BootInfo::mem (docs/boot-info.md "UEFI boot stage"): what the
// boot stage hands the hypervisor as the truth about RAM. Pure logic, host-tested
// (tests/unit/boot_memory_map_test.cpp).
#pragma once

#include "boot/efi/efi.hpp"
#include "hypervisor/boot_info.hpp"

namespace keel {

// The BootInfo type of an EFI memory type: only EfiConventionalMemory is Usable (pool
// memory); ACPI reclaim is AcpiReclaim; everything else is Reserved.
MemType mem_type_of(u32 efi_type);

// Fills bi.mem from a GetMemoryMap() result: MMIO left out, neighbours of one MemType merged
// (their EFI type kept in uefi_type, or MemRange::kUefiMixed), at most BootInfo::kMaxMem
// ranges (what does not fit stays unknown, so never pool memory).
void fill_memory(BootInfo& bi, const u8* map, u64 map_size, u64 desc_size);

} // namespace keel
