// docs/boot-info.md "UEFI boot stage": the memory map the hypervisor receives.
#include "boot/memory_map.hpp"

#include <string.h>

namespace keel {

// Only EfiConventionalMemory becomes pool memory (docs/boot-info.md): boot-services memory
// is free after ExitBootServices too, but it held the firmware's and this stage's state up to
// the hand-over, so Keel never gives it to a guest; runtime services, ACPI NVS, the loader
// data that holds the image, boot info, event log and DTB copy, and anything unknown, stay
// reserved.
MemType mem_type_of(u32 efi_type) {
    switch (static_cast<efi::MemoryType>(efi_type)) {
    case efi::MemoryType::Conventional: return MemType::Usable;
    case efi::MemoryType::AcpiReclaim: return MemType::AcpiReclaim;
    default: return MemType::Reserved;
    }
}

// Merges the UEFI map into bi.mem (adjacent ranges of one MemType become one; the EFI type
// is kept, or marked mixed). MMIO ranges are left out: the hypervisor finds devices in the
// DTB/ACPI. Ranges past the 64th stay unknown to Keel, which never pools what it does not see.
void fill_memory(BootInfo& bi, const u8* map, u64 map_size, u64 desc_size) {
    bi.mem_count = 0;
    if (desc_size < sizeof(efi::MemoryDescriptor)) return; // no map: nothing is RAM
    for (u64 off = 0; off + sizeof(efi::MemoryDescriptor) <= map_size; off += desc_size) {
        efi::MemoryDescriptor d;
        memcpy(&d, map + off, sizeof(d));
        auto t = static_cast<efi::MemoryType>(d.type);
        if (t == efi::MemoryType::MemoryMappedIo || t == efi::MemoryType::MemoryMappedIoPortSpace)
            continue;
        // A range that wraps is nonsense: left out, so never pool memory.
        if (d.pages == 0 || d.pages > (~0ull - d.physical_start) / 4096) continue;
        const MemType mt = mem_type_of(d.type);
        const u64 size = d.pages * 4096; // EFI_PAGE_SIZE
        if (bi.mem_count > 0) {
            MemRange& last = bi.mem[bi.mem_count - 1];
            if (last.type == mt && last.base + last.size == d.physical_start) {
                last.size += size;
                if (last.uefi_type != d.type + 1) last.uefi_type = MemRange::kUefiMixed;
                continue;
            }
        }
        if (bi.mem_count == BootInfo::kMaxMem) break; // the rest stays unknown to Keel
        bi.mem[bi.mem_count++] = MemRange{d.physical_start, size, mt, d.type + 1};
    }
}

} // namespace keel
