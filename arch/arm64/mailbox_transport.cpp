// arm64 mailbox transport (arch/mailbox_interface.hpp): device mappings at EL2 and the
// PCIe bridge windows from the DTB.
#include <arch/mailbox.hpp>
#include <libfdt.h>

#include "mmu.hpp"
#include "sysreg.hpp"

namespace keel::arch {

Status mailbox_map_device(u64 addr, u64 size) {
    // Device-nGnRE: no speculation, no merging, every access reaches the device in order.
    return arm64::el2_map(addr, size, arm64::MapKind::Device);
}

u64 mailbox_addr_limit() { return arm64::el2_pa_limit(); } // EL2 identity-maps that far (mmu.hpp)

void dma_clean(const void* p, u64 size) { arm64::clean_to_poc(p, size); }

u32 pci_windows(const BootInfo& info, pci::Window* out, u32 max) {
    const void* fdt = reinterpret_cast<const void*>(info.dtb);
    if (fdt == nullptr || fdt_check_header(fdt) != 0) return 0;
    int node = fdt_node_offset_by_compatible(fdt, -1, "pci-host-ecam-generic");
    if (node < 0) return 0;
    int len = 0;
    const auto* r = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "ranges", &len));
    // Each entry: PCI address (3 cells: space code, hi, lo), CPU address (2 cells), size
    // (2 cells), per the PCI bus binding (IEEE 1275 PCI, §2.2.1.1).
    constexpr int kCells = 7;
    u32 n = 0;
    for (int i = 0; r != nullptr && (i + 1) * kCells * 4 <= len && n < max; ++i) {
        const fdt32_t* e = r + i * kCells;
        const u32 space = (fdt32_to_cpu(e[0]) >> 24) & 3;
        if (space != 2 && space != 3) continue; // 1 = I/O space: never used
        const u64 cpu = (static_cast<u64>(fdt32_to_cpu(e[3])) << 32) | fdt32_to_cpu(e[4]);
        const u64 pci = (static_cast<u64>(fdt32_to_cpu(e[1])) << 32) | fdt32_to_cpu(e[2]);
        if (cpu != pci) continue; // Keel programs BARs with CPU addresses: identity ranges only
        out[n].base = cpu;
        out[n].size = (static_cast<u64>(fdt32_to_cpu(e[5])) << 32) | fdt32_to_cpu(e[6]);
        out[n].is64 = space == 3;
        ++n;
    }
    return n;
}

} // namespace keel::arch
