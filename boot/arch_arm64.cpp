// arm64 half of the boot stage: EL2 check, the platform description from the
// configuration tables (a device tree, else ACPI as on SBBR servers), cache maintenance
// for what the hypervisor reads with its MMU off, and the hand-off.
#include <string.h>

#include "boot/stage.hpp"
#include "hypervisor/acpi/tables.hpp"
#include "hypervisor/print.hpp"

extern "C" [[noreturn]] void keel_boot_handoff_arm64(keel::BootInfo* bi, keel::u64 entry);

namespace keel {

const image::Arch kStageArch = image::Arch::Arm64;
const char* const kStageArchName = "arm64";

void arch_check_cpu() {
    u64 el;
    asm volatile("mrs %0, CurrentEL" : "=r"(el));
    el = (el >> 2) & 3;
    if (el != 2)
        refuse("firmware runs at EL%llu; Keel needs EL2 (QEMU: -M virt,virtualization=on)",
               static_cast<unsigned long long>(el));
}

namespace {

// UEFI maps memory 1:1, so a physical range is readable where it is.
const u8* identity_map(void*, u64 pa, u64) { return reinterpret_cast<const u8*>(pa); }

// ACPI boot: the hypervisor reads the RSDP, the root table and every table it lists with
// its MMU (and caches) off, so each is cleaned to the point of coherency here. The
// tables are checked now too (checksums, lengths, overlaps: the reader the hypervisor
// uses), so a malformed set stops the boot stage with its reason.
void take_acpi(BootInfo& bi) {
    acpi::TableSet set;
    const acpi::PhysReader reader{identity_map, nullptr};
    const Status s = acpi::open(bi.rsdp, reader, set);
    if (s != Status::Ok) refuse("firmware ACPI tables refused: %s", status_name(s));
    arch_clean_range(bi.rsdp, 36); // the RSDP (ACPI 2.0: 36 bytes)
    const u8* rsdp = reinterpret_cast<const u8*>(bi.rsdp);
    u64 root = 0;
    for (usize k = 0; k < 8; ++k) // XSDT address, RSDP offset 24
        root |= static_cast<u64>(rsdp[24 + k]) << (8 * k);
    if (root != 0) {
        const u8* r = reinterpret_cast<const u8*>(root);
        arch_clean_range(root, static_cast<u64>(r[4]) | (static_cast<u64>(r[5]) << 8) |
                                   (static_cast<u64>(r[6]) << 16) | (static_cast<u64>(r[7]) << 24));
    }
    for (u32 i = 0; i < set.count; ++i)
        arch_clean_range(set.tables[i].pa, set.tables[i].len);
}

} // namespace

void arch_fill_platform(efi::SystemTable* st, BootInfo& bi) {
    for (u64 i = 0; i < st->number_of_table_entries; ++i) {
        const efi::ConfigurationTable& t = st->configuration_table[i];
        if (efi::guid_eq(t.vendor_guid, efi::kDtbTableGuid))
            bi.dtb = reinterpret_cast<u64>(t.vendor_table);
        if (efi::guid_eq(t.vendor_guid, efi::kAcpi20TableGuid))
            bi.rsdp = reinterpret_cast<u64>(t.vendor_table);
    }
    if (bi.dtb == 0) {
        if (bi.rsdp == 0) refuse("firmware published neither a device tree nor ACPI 2.0 tables");
        take_acpi(bi);
        return;
    }
    bi.rsdp = 0; // a device tree describes the machine: one source of truth
    const u8* f = reinterpret_cast<const u8*>(bi.dtb);
    const u32 magic = (u32(f[0]) << 24) | (u32(f[1]) << 16) | (u32(f[2]) << 8) | f[3];
    const u32 total = (u32(f[4]) << 24) | (u32(f[5]) << 16) | (u32(f[6]) << 8) | f[7];
    if (magic != 0xd00dfeed || total < 40 || total > 2 * 1024 * 1024)
        refuse("firmware device tree has a bad header");
    // A private copy in loader data, which the memory map reports as reserved: the
    // firmware's copy may sit in boot-services memory the hypervisor treats as free.
    efi::PhysAddr copy = 0;
    if (st->boot_services->allocate_pages(efi::AllocateType::AnyPages, efi::MemoryType::LoaderData,
                                          (total + 4095) / 4096, &copy) != efi::kSuccess)
        refuse("out of memory for the device tree");
    memcpy(reinterpret_cast<void*>(copy), f, total);
    bi.dtb = copy;
    arch_clean_range(bi.dtb, total);
}

// DC CIVAC to the point of coherency (ARM ARM D7.5.9): the hypervisor starts with its
// MMU and caches off and must see these bytes in memory, with no stale lines left.
void arch_clean_range(u64 addr, u64 size) {
    u64 ctr;
    asm volatile("mrs %0, ctr_el0" : "=r"(ctr));
    const u64 line = 4ull << ((ctr >> 16) & 0xf); // DminLine, in words
    for (u64 a = addr & ~(line - 1); a < addr + size; a += line)
        asm volatile("dc civac, %0" ::"r"(a) : "memory");
    asm volatile("dsb sy" ::: "memory");
}

void arch_enter(u64 entry, BootInfo* bi) { keel_boot_handoff_arm64(bi, entry); }

} // namespace keel
