// x86_64 half of the boot stage: ACPI RSDP from the configuration tables and the
// hand-off to the hypervisor's 64-bit UEFI entry (rdi = BootInfo*).
#include "boot/stage.hpp"

extern "C" [[noreturn]] void keel_boot_handoff_x86_64(keel::BootInfo* bi, keel::u64 entry);

namespace keel {

const image::Arch kStageArch = image::Arch::X86_64;
const char* const kStageArchName = "x86_64";

void arch_check_cpu() {}

void arch_fill_platform(efi::SystemTable* st, BootInfo& bi) {
    u64 acpi1 = 0;
    for (u64 i = 0; i < st->number_of_table_entries; ++i) {
        const efi::ConfigurationTable& t = st->configuration_table[i];
        if (efi::guid_eq(t.vendor_guid, efi::kAcpi20TableGuid))
            bi.rsdp = reinterpret_cast<u64>(t.vendor_table);
        if (efi::guid_eq(t.vendor_guid, efi::kAcpi10TableGuid))
            acpi1 = reinterpret_cast<u64>(t.vendor_table);
    }
    if (bi.rsdp == 0) bi.rsdp = acpi1;
    if (bi.rsdp == 0) refuse("firmware published no ACPI RSDP");
}

// x86 caches are coherent with memory for everything here.
void arch_clean_range(u64, u64) {}

void arch_enter(u64 entry, BootInfo* bi) { keel_boot_handoff_x86_64(bi, entry); }

} // namespace keel
