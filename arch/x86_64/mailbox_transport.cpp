// x86_64 mailbox transport (arch/mailbox_interface.hpp). Device memory is mapped like
// any other MMIO (uncached, no-execute). The host bridge's windows are in ACPI's _CRS,
// which Keel does not evaluate (no AML interpreter); like an OS told to ignore _CRS, it
// takes the largest gap of the boot memory map below the chipset's fixed devices
// (I/O APIC at 0xfec00000 and up) as the 32-bit window, and every placement keeps clear
// of the BARs firmware already decodes (pci::claim_decoding_bars). That assumes one root
// bridge routes the whole gap, as on q35 and single-socket servers (docs/sriov.md).
#include <arch/mailbox.hpp>

#include "paging.hpp"

namespace keel::arch {

Status mailbox_map_device(u64 addr, u64 size) {
    return x86::map_phys(addr, size, x86::MapKind::Device);
}

u32 pci_windows(const BootInfo& info, pci::Window* out, u32 max) {
    constexpr u64 kLow = 1 * MiB, kChipset = 0xfec00000;
    const pci::Window w = pci::largest_gap(info.mem, info.mem_count, kLow, kChipset);
    if (max == 0 || w.size < 16 * MiB) return 0; // no usable hole: say so at the caller
    out[0] = w;
    return 1;
}

void dma_clean(const void* p, u64 size) {
    constexpr u64 kLine = 64; // CPUID.1:EBX[15:8] * 8 on every x86 Keel runs on
    u64 a = reinterpret_cast<u64>(p) & ~(kLine - 1);
    for (const u64 end = reinterpret_cast<u64>(p) + size; a < end; a += kLine)
        asm volatile("clflush (%0)" ::"r"(a) : "memory");
    asm volatile("mfence" ::: "memory");
}

u64 mailbox_addr_limit() { return 1ull << 47; } // the identity map's lower canonical half

} // namespace keel::arch
