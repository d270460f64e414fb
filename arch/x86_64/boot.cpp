// x86_64 boot paths to keel_main with the console up, exceptions reported, the boot
// info filled and the hypervisor's own page tables live:
//   - direct (Multiboot1/2): start.S, long mode on the early identity map, then
//     x86_boot_main(magic, info) fills the boot info from Multiboot;
//   - UEFI boot stage: uefi_entry.S, long mode on UEFI's identity map, then
//     x86_uefi_boot_main(BootInfo*) checks and copies the stage's boot info.
// Both read the loader's data before paging_init() drops the identity map.
#include <arch/console.hpp>
#include <string.h>

#include "cmos_clock.hpp"
#include "descriptors.hpp"
#include "hypervisor/boot_info.hpp"
#include "hypervisor/panic.hpp"
#include "hypervisor/print.hpp"
#include "multiboot.hpp"
#include "paging.hpp"
#include "tsc.hpp"

extern "C" char __image_start[], __image_end[];
extern "C" keel::u64 keel_relocations, keel_image_linked_at; // relocate.S
extern "C" [[noreturn]] void keel_main(keel::BootInfo* info);

namespace keel::x86 {
namespace {

BootInfo g_boot_info;
// Multiboot2's copy of the RSDP (36 bytes for ACPI 2.0+), kept inside the image.
alignas(16) u8 g_rsdp_copy[64];

// Why the UEFI boot stage's BootInfo cannot be used, or nullptr if it can.
const char* uefi_boot_info_problem(const BootInfo* bi) {
    if (bi == nullptr || (reinterpret_cast<u64>(bi) & 7) != 0) return "missing or misaligned";
    if (bi->magic != BootInfo::kMagic) return "bad magic";
    if (bi->version != BootInfo::kVersion) return "unsupported version";
    if (bi->size != sizeof(BootInfo)) return "wrong size";
    if (bi->source != BootSource::Uefi) return "not from the boot stage";
    if (bi->arch != BootArch::X86_64) return "for another architecture";
    if (bi->mem_count > BootInfo::kMaxMem) return "memory map too long";
    return nullptr;
}

// Shared tail of both paths: the loader's data is copied into `bi` (inside the image),
// so the hypervisor's own page tables can go live; then the core.
[[noreturn]] void enter_core(BootInfo& bi) {
    Status s = paging_init();
    if (s != Status::Ok) panic("hypervisor page tables: %s", status_name(s));
    kprint("x86_64: own page tables on (text RX, rodata R+NX, data RW+NX, CR0.WP, EFER.NXE)\n");
    // A static PIE (docs/handover.md §1.4): where it runs, where it is linked.
    kprint("x86_64: running at %#llx, linked at %#llx: %llu relocations applied\n",
           static_cast<unsigned long long>(reinterpret_cast<uptr>(__image_start)),
           static_cast<unsigned long long>(keel_image_linked_at),
           static_cast<unsigned long long>(keel_relocations));
    const TscRate tsc = tsc_calibrate();
    kprint("x86_64: TSC %llu kHz (%s)\n", static_cast<unsigned long long>(tsc.hz / 1000),
           tsc.source == TscSource::Cpuid15 ? "CPUID 0x15"
           : tsc.source == TscSource::Pit   ? "measured against the PIT"
                                            : "unknown: no CPUID 0x15, no PIT");
    cmos_clock_init();

    bi.magic = BootInfo::kMagic;
    bi.version = BootInfo::kVersion;
    bi.size = sizeof(BootInfo);
    bi.arch = BootArch::X86_64;
    bi.image_base = reinterpret_cast<u64>(__image_start);
    bi.image_size = reinterpret_cast<u64>(__image_end) - bi.image_base;
    keel_main(&bi);
}

} // namespace

const BootInfo& boot_info() { return g_boot_info; } // declared in vmx/vmx.hpp

extern "C" [[noreturn]] void x86_boot_main(u32 magic, u32 info) {
    arch::console_init();
    descriptors_init(); // from here on every exception is reported

    // The loader's info lies in RAM outside the image: read it while the early
    // identity map still covers it.
    BootInfo& bi = g_boot_info;
    Status s = multiboot_fill(magic, info, bi, g_rsdp_copy, sizeof g_rsdp_copy);
    if (s != Status::Ok)
        panic("boot information (magic %#x at %#x) unusable: %s", magic, info, status_name(s));
    enter_core(bi);
}

extern "C" [[noreturn]] void x86_uefi_boot_main(const BootInfo* stage_info) {
    arch::console_init();
    descriptors_init(); // our GDT/TSS/IDT replace UEFI's

    // The stage's BootInfo lies in loader data outside the image: copy it while
    // UEFI's identity map still covers it. The RSDP (ACPI tables) is mapped on demand
    // by platform.cpp; the event log is only reported by address, never read.
    if (const char* why = uefi_boot_info_problem(stage_info))
        panic("boot information from the UEFI boot stage at %p unusable: %s", stage_info, why);
    BootInfo& bi = g_boot_info;
    memcpy(&bi, stage_info, sizeof bi);
    bi.cmdline[BootInfo::kCmdlineMax - 1] = '\0';
    enter_core(bi);
}

} // namespace keel::x86
