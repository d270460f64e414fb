// One pass over the device tree's structure block (Devicetree Specification v0.4, 5.4):
// every node's properties are collected as the walk meets them, and the node is judged
// when it ends, with its parent's #address-cells/#size-cells at hand. No path lookups,
// no parent searches, no repeated compatible scans, and no per-tag library calls (libfdt
// only checks the header): the cost is one visit per token (docs/performance.md "Boot").
#include "dtb_platform.hpp"

extern "C" {
#include <libfdt.h>
}

namespace keel::arm64 {
namespace {

constexpr int kMaxDepth = 16;

// A string property's value equals `want` (NUL included in the property).
bool str_is(const char* p, int len, const char* want) {
    if (p == nullptr || len <= 0) return false;
    int i = 0;
    for (; i < len && want[i] != '\0'; ++i)
        if (p[i] != want[i]) return false;
    return i < len && p[i] == '\0' && want[i] == '\0';
}

// The position of `want` in a string-list property ("compatible", "interrupt-names"),
// or -1.
int string_index(const char* p, int len, const char* want) {
    int index = 0;
    for (int at = 0; p != nullptr && at < len; ++index) {
        int end = at;
        while (end < len && p[end] != '\0')
            ++end;
        if (str_is(p + at, end - at + (end < len ? 1 : 0), want)) return index;
        at = end + 1;
    }
    return -1;
}

bool compat_has(const char* p, int len, const char* want) {
    return string_index(p, len, want) >= 0;
}

u64 read_cells(const fdt32_t* cells, u32 count) {
    u64 v = 0;
    for (u32 i = 0; i < count; ++i)
        v = (v << 32) | fdt32_to_cpu(cells[i]);
    return v;
}

struct Prop {
    const char* data = nullptr;
    int len = 0;
    [[nodiscard]] const fdt32_t* cells() const { return reinterpret_cast<const fdt32_t*>(data); }
};

struct Node {
    const char* name = nullptr;
    int name_len = 0;
    u32 child_ac = 2, child_sc = 1; // #address-cells/#size-cells for its children (spec 2.3.5)
    u32 redist_regions = 1;         // a GICv3's #redistributor-regions (arm,gic-v3 binding)
    Prop compatible, device_type, reg, status, bus_range, method, bootargs, phandle, cpu, numa,
        rng_seed, interrupts, interrupt_names, iommu_map, msi_map;

    [[nodiscard]] bool enabled() const {
        return status.data == nullptr || str_is(status.data, status.len, "okay") ||
               str_is(status.data, status.len, "ok");
    }
    [[nodiscard]] bool named(const char* want) const {
        int i = 0;
        for (; i < name_len && want[i] != '\0'; ++i)
            if (name[i] != want[i]) return false;
        return i == name_len && want[i] == '\0';
    }
    [[nodiscard]] bool name_starts(const char* want) const {
        int i = 0;
        for (; want[i] != '\0'; ++i)
            if (i >= name_len || name[i] != want[i]) return false;
        return true;
    }
    [[nodiscard]] u32 cell(const Prop& p) const {
        return p.data != nullptr && p.len == 4 ? fdt32_to_cpu(p.cells()[0]) : 0;
    }
    [[nodiscard]] bool compatible_with(const char* c) const {
        return compat_has(compatible.data, compatible.len, c);
    }
};

// The index-th (address, size) pair of `n`'s reg under its parent's cell counts.
bool reg_pair(const Node& n, const Node& parent, int index, u64* addr, u64* size) {
    const u32 ac = parent.child_ac, sc = parent.child_sc;
    if (ac < 1 || ac > 2 || sc > 2 || n.reg.data == nullptr) return false;
    const int stride = static_cast<int>((ac + sc) * 4);
    if (n.reg.len < stride * (index + 1)) return false;
    const fdt32_t* e = n.reg.cells() + index * static_cast<int>(ac + sc);
    *addr = read_cells(e, ac);
    *size = sc ? read_cells(e + ac, sc) : 0;
    return true;
}

// A GIC interrupt specifier (GICv3 binding: type 0 SPI / 1 PPI, number, flags): its
// INTID, or 0 for anything else.
u32 gic_intid(const Prop& p, int index) {
    if (p.data == nullptr || p.len < 12 * (index + 1)) return 0;
    const fdt32_t* c = p.cells() + 3 * index;
    const u32 type = fdt32_to_cpu(c[0]), num = fdt32_to_cpu(c[1]);
    if (type == 0 && num < 988) return num + 32;
    if (type == 1 && num < 16) return num + 16;
    return 0;
}

// What one walk collects; resolved into a Platform at the end.
struct Scan {
    Platform& out;
    char* bootargs;
    usize bootargs_cap;
    DtbChosen* chosen;
    bool mem_bad = false, cpu_bad = false, gic_bad = false, pci_bad = false;
    int gic_kind = 0; // 3, 2, or 0
    bool uart_done = false, pci_done = false;
    int psci_rank = 99; // 0 = arm,psci-1.0 (preferred), 1 = 0.2, 2 = arm,psci
    PsciConduit psci = PsciConduit::None;
    bool cpus_seen = false;

    // /cpus/cpu-map (Devicetree topology binding: socketN > clusterN > coreN > threadN,
    // levels optional): each leaf names a CPU node by phandle. Children end before their
    // parent, so a leaf's core is the number of core nodes ended so far, and likewise
    // its socket.
    struct MapLeaf {
        u32 phandle, core, socket;
    };
    MapLeaf leaves[Platform::kMaxCpus] = {};
    u32 leaf_count = 0, cores_ended = 0, sockets_ended = 0;
    bool map_seen = false, map_bad = false;
    u32 cpu_phandle[Platform::kMaxCpus] = {};

    // SMMUs by phandle, the ITS's phandle, and the host bridge's iommu-map / msi-map
    // (PCI IOMMU and MSI bindings: rid-base, phandle, output base, length), resolved once
    // every node has been seen.
    u32 smmu_phandle[Platform::kMaxSmmus] = {};
    u32 its_phandle = 0;
    Prop iommu_map = {}, msi_map = {};
    bool smmu_bad = false;

    void take_smmu(const Node& n, const Node& parent) {
        u64 base = 0, size = 0;
        if (out.smmu_count == Platform::kMaxSmmus || !reg_pair(n, parent, 0, &base, &size)) {
            smmu_bad = true;
            return;
        }
        const Prop& names = n.interrupt_names;
        const int ev = string_index(names.data, names.len, "eventq");
        const int ge = string_index(names.data, names.len, "gerror");
        smmu_phandle[out.smmu_count] = n.cell(n.phandle);
        out.smmus[out.smmu_count++] = SmmuDesc{base, ev < 0 ? 0 : gic_intid(n.interrupts, ev),
                                               ge < 0 ? 0 : gic_intid(n.interrupts, ge)};
    }

    // The entry of a 4-cell map containing [rid, rid + count) and its output for rid.
    static bool map_lookup(const Prop& map, u32 rid, u32 count, u32* phandle, u32* outid) {
        for (int at = 0; at + 16 <= map.len; at += 16) {
            const fdt32_t* c = map.cells() + at / 4;
            const u32 base = fdt32_to_cpu(c[0]), len = fdt32_to_cpu(c[3]);
            if (rid >= base && u64{rid} + count <= u64{base} + len) {
                *phandle = fdt32_to_cpu(c[1]);
                *outid = fdt32_to_cpu(c[2]) + (rid - base);
                return true;
            }
        }
        return false;
    }

    // One PciIdRange per iommu-map entry (or per msi-map entry without an iommu-map),
    // with the ITS device IDs of the msi-map entry that contains it.
    [[nodiscard]] bool resolve_pci_ids() {
        const Prop& primary = iommu_map.data != nullptr ? iommu_map : msi_map;
        if (primary.len % 16 != 0) return false;
        for (int at = 0; at + 16 <= primary.len; at += 16) {
            const fdt32_t* c = primary.cells() + at / 4;
            const u32 base = fdt32_to_cpu(c[0]), len = fdt32_to_cpu(c[3]);
            if (len == 0 || u64{base} + len > 0x100000000ull) return false;
            if (out.pci_id_count == Platform::kMaxPciIdRanges) return false;
            PciIdRange r{base, len, PciIdRange::kNoSmmu, 0, 0, false};
            if (&primary == &iommu_map) {
                for (u32 i = 0; i < out.smmu_count; ++i)
                    if (smmu_phandle[i] != 0 && smmu_phandle[i] == fdt32_to_cpu(c[1])) r.smmu = i;
                if (r.smmu == PciIdRange::kNoSmmu) return false; // not an SMMU we know
                r.stream_base = fdt32_to_cpu(c[2]);
            }
            u32 target = 0, device = 0;
            if (map_lookup(msi_map, base, len, &target, &device) && target == its_phandle &&
                its_phandle != 0) {
                r.its_device_base = device;
                r.its_mapped = true;
            }
            out.pci_ids[out.pci_id_count++] = r;
        }
        return true;
    }

    void map_node_end(const Node& n) {
        if (n.cpu.data != nullptr) {
            if (leaf_count == Platform::kMaxCpus || n.cell(n.cpu) == 0) {
                map_bad = true;
                return;
            }
            leaves[leaf_count++] = MapLeaf{n.cell(n.cpu), cores_ended, sockets_ended};
        }
        if (n.name_starts("core")) ++cores_ended;
        if (n.name_starts("socket")) ++sockets_ended;
    }

    // Every CPU placed by the map (if there is one): SMT threads share a core.
    [[nodiscard]] bool resolve_topology() {
        if (!map_seen) return true;
        if (map_bad) return false;
        for (u32 i = 0; i < out.cpu_count; ++i) {
            const MapLeaf* leaf = nullptr;
            for (u32 j = 0; j < leaf_count; ++j)
                if (cpu_phandle[i] != 0 && leaves[j].phandle == cpu_phandle[i]) leaf = &leaves[j];
            if (leaf == nullptr) return false; // a CPU the map does not place
            out.cpus[i].core = leaf->core;
            out.cpus[i].package = leaf->socket;
            out.cpus[i].thread = 0;
            for (u32 j = 0; j < i; ++j)
                if (out.cpus[j].core == leaf->core) ++out.cpus[i].thread;
        }
        out.topology_known = true;
        return true;
    }

    void node_end(const Node& n, const Node& parent, int depth) {
        u64 a = 0, s = 0;
        if (str_is(n.device_type.data, n.device_type.len, "memory") && n.enabled()) {
            for (int i = 0; reg_pair(n, parent, i, &a, &s); ++i) {
                if (s != 0 && !out.add_mem(a, s, MemType::Usable)) mem_bad = true;
                if (s != 0 && n.numa.data != nullptr && !mem_bad) { // NUMA binding
                    if (out.mem_node_count == Platform::kMaxMem)
                        mem_bad = true;
                    else
                        out.mem_nodes[out.mem_node_count++] = MemNode{a, s, n.cell(n.numa)};
                }
            }
        }
        // Devicetree Specification 3.5: every /reserved-memory child with a reg is kept
        // out of the pool (no-map or not, enabled or not: Keel hands nothing of it to guests).
        if (depth == 2 && parent.named("reserved-memory")) {
            for (int i = 0; reg_pair(n, parent, i, &a, &s); ++i)
                if (s != 0 && !out.add_mem(a, s, MemType::Reserved)) mem_bad = true;
        }
        if (depth == 2 && parent.named("cpus") &&
            str_is(n.device_type.data, n.device_type.len, "cpu")) {
            if (!reg_pair(n, parent, 0, &a, &s) || !out.add_cpu(a & 0xff00ffffffull, n.enabled()))
                cpu_bad = true;
            else {
                cpu_phandle[out.cpu_count - 1] = n.cell(n.phandle);
                out.cpus[out.cpu_count - 1].node = n.cell(n.numa);
            }
        }
        if (depth == 2 && parent.named("cpus") && n.named("cpu-map")) map_seen = true;
        if (depth == 1 && n.named("cpus")) cpus_seen = true;
        if (depth == 1 && n.named("chosen") && chosen != nullptr && n.rng_seed.data != nullptr) {
            chosen->rng_seed = reinterpret_cast<const u8*>(n.rng_seed.data);
            chosen->rng_seed_len = static_cast<u32>(n.rng_seed.len);
        }
        if (depth == 1 && n.named("chosen") && bootargs != nullptr && n.bootargs.data != nullptr) {
            usize i = 0;
            for (; i + 1 < bootargs_cap && i < static_cast<usize>(n.bootargs.len) &&
                   n.bootargs.data[i] != '\0';
                 ++i)
                bootargs[i] = n.bootargs.data[i];
            bootargs[i] = '\0';
        }
        if (n.compatible.data == nullptr) return;
        if (gic_kind != 3 && n.compatible_with("arm,gic-v3")) {
            gic_kind = 3;
            out.irq_kind = IrqControllerKind::GicV3;
            gic_bad = !reg_pair(n, parent, 0, &out.irq_dist_base, &s) ||
                      !reg_pair(n, parent, 1, &out.irq_redist_base, &out.irq_redist_size) ||
                      n.redist_regions < 1 || n.redist_regions > 1 + Platform::kMaxMoreRedist;
            out.redist_more_count = 0;
            for (u32 r = 1; !gic_bad && r < n.redist_regions; ++r) {
                MmioRange& m = out.redist_more[out.redist_more_count++];
                gic_bad = !reg_pair(n, parent, static_cast<int>(1 + r), &m.base, &m.size);
            }
        } else if (gic_kind == 0 && n.compatible_with("arm,cortex-a15-gic")) {
            gic_kind = 2;
            out.irq_kind = IrqControllerKind::GicV2;
            gic_bad = !reg_pair(n, parent, 0, &out.irq_dist_base, &s);
        }
        if (out.its_base == 0 && n.enabled() && n.compatible_with("arm,gic-v3-its")) {
            if (!reg_pair(n, parent, 0, &out.its_base, &s)) out.its_base = 0;
            its_phandle = n.cell(n.phandle);
        }
        if (n.enabled() && n.compatible_with("arm,smmu-v3")) take_smmu(n, parent);
        if (out.timers.virt == 0 && n.compatible_with("arm,armv8-timer"))
            out.timers = TimerIntids{gic_intid(n.interrupts, 0), gic_intid(n.interrupts, 1),
                                     gic_intid(n.interrupts, 2), gic_intid(n.interrupts, 3)};
        if (!uart_done && n.enabled() && n.compatible_with("arm,pl011")) {
            uart_done = true;
            if (!reg_pair(n, parent, 0, &out.uart_base, &s)) out.uart_base = 0;
        }
        if (!pci_done && n.compatible_with("pci-host-ecam-generic")) {
            pci_done = true; // the first one, as every lookup did
            iommu_map = n.iommu_map;
            msi_map = n.msi_map;
            if (n.enabled() && reg_pair(n, parent, 0, &out.ecam_base, &out.ecam_size)) {
                if (n.bus_range.data != nullptr && n.bus_range.len == 8) {
                    out.pci_bus_start = fdt32_to_cpu(n.bus_range.cells()[0]);
                    out.pci_bus_end = fdt32_to_cpu(n.bus_range.cells()[1]);
                } else {
                    out.pci_bus_end = static_cast<u32>((out.ecam_size >> 20) - 1); // 1 MiB a bus
                }
                pci_bad = out.pci_bus_end < out.pci_bus_start;
            }
        }
        const char* psci_compat[] = {"arm,psci-1.0", "arm,psci-0.2", "arm,psci"};
        for (int r = 0; r < psci_rank && r < 3; ++r) {
            if (!n.compatible_with(psci_compat[r])) continue;
            psci_rank = r;
            psci = str_is(n.method.data, n.method.len, "smc")   ? PsciConduit::Smc
                   : str_is(n.method.data, n.method.len, "hvc") ? PsciConduit::Hvc
                                                                : PsciConduit::None;
            break;
        }
    }
};

// The structure and strings blocks, bounds-checked: every read below stays inside them.
struct Blocks {
    const u8* st;
    u32 st_size;
    const char* strs;
    u32 strs_size;

    [[nodiscard]] u32 word(u32 pos) const { // pos + 4 <= st_size, 4-aligned
        return fdt32_to_cpu(*reinterpret_cast<const fdt32_t*>(st + pos));
    }
    // Whether the string at `off` in the strings block is `want` (NUL-terminated there).
    [[nodiscard]] bool name_is(u32 off, const char* want) const {
        u32 i = 0;
        for (; want[i] != '\0'; ++i)
            if (off + i >= strs_size || strs[off + i] != want[i]) return false;
        return off + i < strs_size && strs[off + i] == '\0';
    }
};

constexpr u32 align4(u32 v) { return (v + 3u) & ~3u; }

void take_prop(const Blocks& b, u32 nameoff, Prop v, Node& n) {
    if (nameoff >= b.strs_size) return;
    switch (b.strs[nameoff]) {
    case '#':
        if (v.len == 4 && b.name_is(nameoff, "#address-cells"))
            n.child_ac = fdt32_to_cpu(v.cells()[0]);
        if (v.len == 4 && b.name_is(nameoff, "#size-cells"))
            n.child_sc = fdt32_to_cpu(v.cells()[0]);
        if (v.len == 4 && b.name_is(nameoff, "#redistributor-regions"))
            n.redist_regions = fdt32_to_cpu(v.cells()[0]);
        break;
    case 'b':
        if (b.name_is(nameoff, "bus-range")) n.bus_range = v;
        if (b.name_is(nameoff, "bootargs")) n.bootargs = v;
        break;
    case 'c':
        if (b.name_is(nameoff, "compatible")) n.compatible = v;
        if (b.name_is(nameoff, "cpu")) n.cpu = v;
        break;
    case 'd':
        if (b.name_is(nameoff, "device_type")) n.device_type = v;
        break;
    case 'i':
        if (b.name_is(nameoff, "interrupts")) n.interrupts = v;
        if (b.name_is(nameoff, "interrupt-names")) n.interrupt_names = v;
        if (b.name_is(nameoff, "iommu-map")) n.iommu_map = v;
        break;
    case 'm':
        if (b.name_is(nameoff, "method")) n.method = v;
        if (b.name_is(nameoff, "msi-map")) n.msi_map = v;
        break;
    case 'n':
        if (b.name_is(nameoff, "numa-node-id")) n.numa = v;
        break;
    case 'p':
        if (b.name_is(nameoff, "phandle")) n.phandle = v;
        break;
    case 'r':
        if (b.name_is(nameoff, "reg")) n.reg = v;
        if (b.name_is(nameoff, "rng-seed")) n.rng_seed = v;
        break;
    case 's':
        if (b.name_is(nameoff, "status")) n.status = v;
        break;
    default: break;
    }
}

// Walks the whole structure block once into `scan`, token by token (spec 5.4.1), with
// every offset and length checked against its block: the header's own fields were
// checked by fdt_check_header (offsets and sizes inside totalsize).
Status walk(const void* fdt, Scan& scan) {
    if (fdt_check_header(fdt) != 0) return Status::Corrupt;
    const auto* base = static_cast<const u8*>(fdt);
    const u32 st_off = fdt_off_dt_struct(fdt);
    Blocks b{base + st_off,
             fdt_version(fdt) >= 17 ? fdt_size_dt_struct(fdt) : fdt_totalsize(fdt) - st_off,
             reinterpret_cast<const char*>(base) + fdt_off_dt_strings(fdt),
             fdt_size_dt_strings(fdt)};
    if (st_off % 4 != 0) return Status::Corrupt;
    Node stack[kMaxDepth];
    int depth = -1;
    u32 pos = 0;
    for (;;) {
        if (b.st_size < 4 || pos > b.st_size - 4) return Status::Corrupt; // no FDT_END
        const u32 tag = b.word(pos);
        pos += 4;
        switch (tag) {
        case FDT_BEGIN_NODE: {
            if (++depth >= kMaxDepth) return Status::Corrupt;
            u32 end = pos;
            while (end < b.st_size && b.st[end] != '\0')
                ++end;
            if (end >= b.st_size) return Status::Corrupt;
            stack[depth] = Node{};
            stack[depth].name = reinterpret_cast<const char*>(b.st + pos);
            stack[depth].name_len = static_cast<int>(end - pos);
            pos = align4(end + 1);
            break;
        }
        case FDT_PROP: {
            if (depth < 0 || pos > b.st_size - 8) return Status::Corrupt;
            const u32 len = b.word(pos), nameoff = b.word(pos + 4);
            pos += 8;
            if (len > b.st_size - pos || len > 0x7fffffffu) return Status::Corrupt;
            take_prop(b, nameoff,
                      Prop{reinterpret_cast<const char*>(b.st + pos), static_cast<int>(len)},
                      stack[depth]);
            pos = align4(pos + len);
            break;
        }
        case FDT_END_NODE:
            if (depth < 0) return Status::Corrupt;
            if (depth > 0) scan.node_end(stack[depth], stack[depth - 1], depth);
            if (depth >= 3 && stack[1].named("cpus") && stack[2].named("cpu-map"))
                scan.map_node_end(stack[depth]);
            --depth;
            break;
        case FDT_NOP: break;
        case FDT_END: return depth == -1 ? Status::Ok : Status::Corrupt;
        default: return Status::Corrupt;
        }
    }
}

} // namespace

Status dtb_read_platform(const void* fdt, Platform& out, char* bootargs, usize bootargs_cap,
                         DtbChosen* chosen) {
    if (bootargs != nullptr && bootargs_cap != 0) bootargs[0] = '\0';
    if (chosen != nullptr) *chosen = DtbChosen{};
    Scan scan{out, bootargs, bootargs_cap, chosen};
    KEEL_TRY(walk(fdt, scan));
    // The memory reservation block (Devicetree Specification 5.3, /memreserve/): reserved.
    const int rsv = fdt_num_mem_rsv(fdt);
    if (rsv < 0) return Status::Corrupt;
    for (int i = 0; i < rsv; ++i) {
        u64 a = 0, s = 0;
        if (fdt_get_mem_rsv(fdt, i, &a, &s) != 0) return Status::Corrupt;
        if (s != 0 && !out.add_mem(a, s, MemType::Reserved)) scan.mem_bad = true;
    }
    if (scan.mem_bad) return Status::OutOfRange;
    if (out.usable_bytes() == 0) return Status::NotFound;
    if (scan.cpu_bad) return Status::Corrupt;
    if (!scan.cpus_seen || out.cpu_count == 0) return Status::NotFound;
    if (scan.gic_bad || scan.pci_bad) return Status::Corrupt;
    if (!scan.resolve_topology()) return Status::Corrupt;
    if (scan.smmu_bad || !scan.resolve_pci_ids()) return Status::Corrupt;
    out.psci = scan.psci;
    return Status::Ok;
}

} // namespace keel::arm64
