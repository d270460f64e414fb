// x86_64 direct-boot path: from start.S (long mode on the early identity map) to
// keel_main with the console up, exceptions reported, the boot info filled from
// Multiboot and the hypervisor's own page tables live.
#include <arch/console.hpp>

#include "descriptors.hpp"
#include "hypervisor/boot_info.hpp"
#include "hypervisor/panic.hpp"
#include "hypervisor/print.hpp"
#include "multiboot.hpp"
#include "paging.hpp"

extern "C" char __image_start[], __image_end[];
extern "C" [[noreturn]] void keel_main(keel::BootInfo* info);

namespace keel::x86 {
namespace {

BootInfo g_boot_info;
// Multiboot2's copy of the RSDP (36 bytes for ACPI 2.0+), kept inside the image.
alignas(16) u8 g_rsdp_copy[64];

} // namespace

extern "C" [[noreturn]] void x86_boot_main(u32 magic, u32 info) {
    arch::console_init();
    descriptors_init(); // from here on every exception is reported

    // The loader's info lies in RAM outside the image: read it while the early
    // identity map still covers it.
    BootInfo& bi = g_boot_info;
    Status s = multiboot_fill(magic, info, bi, g_rsdp_copy, sizeof g_rsdp_copy);
    if (s != Status::Ok)
        panic("boot information (magic %#x at %#x) unusable: %s", magic, info, status_name(s));

    s = paging_init();
    if (s != Status::Ok) panic("hypervisor page tables: %s", status_name(s));
    kprint("x86_64: own page tables on (text RX, rodata R+NX, data RW+NX, CR0.WP, EFER.NXE)\n");

    bi.magic = BootInfo::kMagic;
    bi.version = BootInfo::kVersion;
    bi.size = sizeof(BootInfo);
    bi.arch = BootArch::X86_64;
    bi.image_base = reinterpret_cast<u64>(__image_start);
    bi.image_size = reinterpret_cast<u64>(__image_end) - bi.image_base;
    keel_main(&bi);
}

} // namespace keel::x86
