// arm64 boot path: from start.S (EL2, MMU off, x0 = DTB on direct boot, or the UEFI boot
// stage's BootInfo) to keel_main with the EL2 page tables on. The platform comes from
// the device tree, or on a UEFI boot without one from ACPI (SBBR servers).
#include "bench_marks.hpp"
#include <arch/console.hpp>
#include <string.h>

extern "C" {
#include <libfdt.h>
}

#include "boot_uefi.hpp"
#include "dtb_platform.hpp"
#include "handover_entry.hpp"
#include "hypervisor/acpi/platform_acpi.hpp"
#include "hypervisor/boot_info.hpp"
#include "hypervisor/panic.hpp"
#include "hypervisor/print.hpp"
#include "mmu.hpp"

extern "C" char __image_start[], __image_end[];
extern "C" [[noreturn]] void keel_main(keel::BootInfo* info);

namespace keel::arm64 {
namespace {

BootInfo g_boot_info;
DtbScan g_scan;

void map_or_panic(u64 addr, u64 size, MapKind kind, const char* what) {
    Status s = el2_map(addr, size, kind);
    if (s != Status::Ok)
        panic("EL2 map of %s at %#llx failed: %s", what, static_cast<unsigned long long>(addr),
              status_name(s));
}

// /chosen/rng-seed (Devicetree Specification v0.4 §3.6: random bytes from the boot
// loader, which QEMU's virt machine fills from the host unless dtb-randomness=off) as the
// boot-stage entropy, when the UEFI boot stage brought none of its own.
// Found by the one walk (a path lookup here cost ~270k instructions of boot time).
void take_rng_seed(const DtbChosen& chosen, BootInfo& bi) {
    if ((bi.flags & BootInfo::kFlagEntropy) != 0) return;
    if (chosen.rng_seed == nullptr || chosen.rng_seed_len == 0) return;
    const u32 n =
        chosen.rng_seed_len < BootInfo::kEntropyMax ? chosen.rng_seed_len : BootInfo::kEntropyMax;
    memcpy(bi.entropy, chosen.rng_seed, n);
    bi.entropy_len = n;
    bi.entropy_source = static_cast<u32>(EntropySource::DtbRngSeed);
    bi.flags |= BootInfo::kFlagEntropy;
}

// Before the MMU is on, physical addresses are read where they are; the boot stage
// cleaned the ACPI tables to the point of coherency for exactly this.
const u8* identity_map(void*, u64 pa, u64) { return reinterpret_cast<const u8*>(pa); }

// The one read of the platform: the device tree (direct boot takes the command line
// from /chosen, UEFI brought its own), or ACPI on a UEFI boot that has no device tree.
void scan_platform(u64 x0, bool from_uefi) {
    const u64 dtb = from_uefi ? g_boot_info.dtb : x0;
    if (from_uefi && dtb == 0 && g_boot_info.rsdp != 0) {
        g_scan.rsdp = g_boot_info.rsdp;
        g_scan.status =
            acpi::read_platform(g_scan.rsdp, acpi::PhysReader{identity_map, nullptr},
                                acpi::Flavor::Arm64, g_scan.platform, &g_scan.acpi_where);
        return;
    }
    const void* fdt = reinterpret_cast<const void*>(dtb);
    if (dtb == 0 || fdt_check_header(fdt) != 0)
        panic("no valid device tree in x0 (%#llx)", static_cast<unsigned long long>(dtb));
    // The one walk over the device tree (dtb_platform.hpp).
    g_scan.fdt = fdt;
    g_scan.status =
        dtb_read_platform(fdt, g_scan.platform, from_uefi ? nullptr : g_boot_info.cmdline,
                          BootInfo::kCmdlineMax, &g_scan.chosen);
}

} // namespace

const DtbScan& boot_dtb_scan() { return g_scan; }

// link_base and relocs: start.S's self-relocation (the linked address, the relocations it
// applied; none when the image runs where it was linked). x1..x4: the entry's, which only a
// live update's jump sets (handover_jump.S, handover_entry.cpp).
extern "C" [[noreturn]] void arm64_boot_main(u64 x0, u64 link_base, u64 relocs, u64 x1, u64 x2,
                                             u64 x3, u64 x4) {
    boot_mark(BootMark::BootMain);
    if (is_handover_record(x0)) handover_main(x0, x1, x2, x3, x4, link_base, relocs);
    // x0 is the DTB (direct boot) or the UEFI boot stage's BootInfo (boot_uefi.cpp).
    const bool from_uefi = take_uefi_boot_info(x0, g_boot_info);
    const u64 base = reinterpret_cast<u64>(__image_start); // adrp: where it runs
    scan_platform(x0, from_uefi);
    const u64 dtb = reinterpret_cast<u64>(g_scan.fdt);

    // Own page tables: text RX, rodata R+XN, data/bss RW+XN (WXN on), the DTB
    // read-only, and the console UART as device memory. Nothing else.
    const Status img = el2_map_image();
    if (img != Status::Ok) panic("EL2 map of the image failed: %s", status_name(img));
    if (g_scan.fdt != nullptr)
        map_or_panic(dtb, fdt_totalsize(g_scan.fdt), MapKind::ReadOnly, "device tree");
    const u64 uart = g_scan.platform.uart_base;
    if (uart == 0) // no console to say more on
        panic("%s names no PL011 UART", g_scan.fdt != nullptr ? "device tree" : "ACPI (SPCR)");
    map_or_panic(uart, 4096, MapKind::Device, "uart");
    if (from_uefi && g_boot_info.event_log != 0 && g_boot_info.event_log_size != 0)
        map_or_panic(g_boot_info.event_log, g_boot_info.event_log_size, MapKind::ReadOnly,
                     "event log");
    el2_enable_mmu();
    boot_mark(BootMark::MmuOn);
    arch::console_set_base(uart);
    kprint("arm64: EL2 MMU on (text RX, rodata R, data RW+XN, WXN)\n");
    if (base != link_base)
        kprint("arm64: running at %#llx, linked at %#llx: %llu relocations applied\n",
               static_cast<unsigned long long>(base), static_cast<unsigned long long>(link_base),
               static_cast<unsigned long long>(relocs));

    BootInfo& bi = g_boot_info;
    bi.magic = BootInfo::kMagic;
    bi.version = BootInfo::kVersion;
    bi.size = sizeof(BootInfo);
    bi.arch = BootArch::Arm64;
    bi.image_base = base;
    bi.image_size = reinterpret_cast<u64>(__image_end) - base;
    bi.dtb = dtb;
    if (!from_uefi) { // UEFI: memory map, digest and event log come from the boot stage
        bi.source = BootSource::DirectArm64Image;
        // The scan's memory, whatever its status: discover_platform reports the status.
        const Platform& p = g_scan.platform;
        for (u32 i = 0; i < p.mem_count && i < BootInfo::kMaxMem; ++i)
            bi.mem[i] = p.mem[i];
        bi.mem_count = p.mem_count;
    }
    if (g_scan.fdt != nullptr) take_rng_seed(g_scan.chosen, bi);
    keel_main(&bi);
}

} // namespace keel::arm64
