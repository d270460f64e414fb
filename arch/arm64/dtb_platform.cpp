#include "dtb_platform.hpp"

extern "C" {
#include <libfdt.h>
}

namespace keel::arm64 {
namespace {

u64 read_cells(const fdt32_t* cells, int count) {
    u64 v = 0;
    for (int i = 0; i < count; ++i)
        v = (v << 32) | fdt32_to_cpu(cells[i]);
    return v;
}

// The index-th (address, size) pair of a node's "reg", using its parent's
// #address-cells/#size-cells. Returns false if absent or malformed.
bool read_reg(const void* fdt, int node, int index, u64* addr, u64* size) {
    int parent = fdt_parent_offset(fdt, node);
    if (parent < 0) return false;
    int ac = fdt_address_cells(fdt, parent);
    int sc = fdt_size_cells(fdt, parent);
    if (ac < 1 || ac > 2 || sc < 0 || sc > 2) return false;
    int len = 0;
    const auto* reg = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "reg", &len));
    int stride = (ac + sc) * 4;
    if (!reg || len < stride * (index + 1)) return false;
    const fdt32_t* entry = reg + index * (ac + sc);
    *addr = read_cells(entry, ac);
    *size = sc ? read_cells(entry + ac, sc) : 0;
    return true;
}

bool node_enabled(const void* fdt, int node) {
    int len = 0;
    const char* status = static_cast<const char*>(fdt_getprop(fdt, node, "status", &len));
    if (!status || len <= 0) return true;
    return (len >= 5 && status[0] == 'o' && status[1] == 'k' && status[2] == 'a' &&
            status[3] == 'y' && status[4] == '\0') ||
           (len >= 3 && status[0] == 'o' && status[1] == 'k' && status[2] == '\0');
}

bool prop_is(const void* fdt, int node, const char* name, const char* value) {
    int len = 0;
    const char* p = static_cast<const char*>(fdt_getprop(fdt, node, name, &len));
    if (!p || len <= 0) return false;
    int i = 0;
    for (; i < len && value[i]; ++i)
        if (p[i] != value[i]) return false;
    return i < len && p[i] == '\0' && value[i] == '\0';
}

Status read_memory(const void* fdt, Platform& out) {
    for (int node = fdt_next_node(fdt, -1, nullptr); node >= 0;
         node = fdt_next_node(fdt, node, nullptr)) {
        if (!prop_is(fdt, node, "device_type", "memory") || !node_enabled(fdt, node)) continue;
        u64 base, size;
        for (int i = 0; read_reg(fdt, node, i, &base, &size); ++i)
            if (size != 0 && !out.add_mem(base, size, MemType::Usable)) return Status::OutOfRange;
    }
    return out.mem_count ? Status::Ok : Status::NotFound;
}

Status read_cpus(const void* fdt, Platform& out) {
    int cpus = fdt_path_offset(fdt, "/cpus");
    if (cpus < 0) return Status::NotFound;
    int node;
    fdt_for_each_subnode(node, fdt, cpus) {
        if (!prop_is(fdt, node, "device_type", "cpu")) continue;
        u64 mpidr, unused;
        if (!read_reg(fdt, node, 0, &mpidr, &unused)) return Status::Corrupt;
        if (!out.add_cpu(mpidr & 0xff00ffffffull, node_enabled(fdt, node))) return Status::Corrupt;
    }
    return out.cpu_count ? Status::Ok : Status::NotFound;
}

} // namespace

u64 dtb_find_uart(const void* fdt) {
    int node = fdt_node_offset_by_compatible(fdt, -1, "arm,pl011");
    while (node >= 0 && !node_enabled(fdt, node))
        node = fdt_node_offset_by_compatible(fdt, node, "arm,pl011");
    u64 base, size;
    if (node < 0 || !read_reg(fdt, node, 0, &base, &size)) return 0;
    return base;
}

Status dtb_read_platform(const void* fdt, Platform& out) {
    if (fdt_check_header(fdt) != 0) return Status::Corrupt;
    KEEL_TRY(read_memory(fdt, out));
    KEEL_TRY(read_cpus(fdt, out));

    int gic = fdt_node_offset_by_compatible(fdt, -1, "arm,gic-v3");
    u64 size;
    if (gic >= 0) {
        out.irq_kind = IrqControllerKind::GicV3;
        if (!read_reg(fdt, gic, 0, &out.irq_dist_base, &size) ||
            !read_reg(fdt, gic, 1, &out.irq_redist_base, &out.irq_redist_size))
            return Status::Corrupt;
    } else if ((gic = fdt_node_offset_by_compatible(fdt, -1, "arm,cortex-a15-gic")) >= 0) {
        out.irq_kind = IrqControllerKind::GicV2;
        if (!read_reg(fdt, gic, 0, &out.irq_dist_base, &size)) return Status::Corrupt;
    }

    out.uart_base = dtb_find_uart(fdt);

    int pci = fdt_node_offset_by_compatible(fdt, -1, "pci-host-ecam-generic");
    if (pci >= 0 && node_enabled(fdt, pci) &&
        read_reg(fdt, pci, 0, &out.ecam_base, &out.ecam_size)) {
        int len = 0;
        const auto* range = static_cast<const fdt32_t*>(fdt_getprop(fdt, pci, "bus-range", &len));
        if (range && len == 8) {
            out.pci_bus_start = fdt32_to_cpu(range[0]);
            out.pci_bus_end = fdt32_to_cpu(range[1]);
        } else {
            out.pci_bus_end = static_cast<u32>((out.ecam_size >> 20) - 1); // 1 MiB of ECAM per bus
        }
        if (out.pci_bus_end < out.pci_bus_start) return Status::Corrupt;
    }

    const char* psci_compat[] = {"arm,psci-1.0", "arm,psci-0.2", "arm,psci"};
    for (const char* compat : psci_compat) {
        int psci = fdt_node_offset_by_compatible(fdt, -1, compat);
        if (psci < 0) continue;
        if (prop_is(fdt, psci, "method", "smc"))
            out.psci = PsciConduit::Smc;
        else if (prop_is(fdt, psci, "method", "hvc"))
            out.psci = PsciConduit::Hvc;
        break;
    }
    return Status::Ok;
}

Status dtb_fill_boot_info(const void* fdt, BootInfo& info) {
    Platform scratch;
    Status s = read_memory(fdt, scratch);
    for (u32 i = 0; i < scratch.mem_count; ++i)
        info.mem[i] = scratch.mem[i];
    info.mem_count = scratch.mem_count;
    info.cmdline[0] = '\0';
    int chosen = fdt_path_offset(fdt, "/chosen");
    if (chosen >= 0) {
        int len = 0;
        const char* args = static_cast<const char*>(fdt_getprop(fdt, chosen, "bootargs", &len));
        if (args && len > 0) {
            usize n = 0;
            while (n + 1 < BootInfo::kCmdlineMax && n < static_cast<usize>(len) && args[n]) {
                info.cmdline[n] = args[n];
                ++n;
            }
            info.cmdline[n] = '\0';
        }
    }
    return s;
}

} // namespace keel::arm64
