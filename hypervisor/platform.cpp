#include "hypervisor/platform.hpp"

#include "hypervisor/print.hpp"

namespace keel {

bool Platform::add_mem(u64 base, u64 size, MemType type) {
    if (mem_count >= kMaxMem || size == 0 || base + size < base) return false;
    mem[mem_count++] = MemRange{base, size, type, 0};
    return true;
}

Status Platform::take_boot_map(const BootInfo& info) {
    if (info.mem_count == 0 || info.mem_count > BootInfo::kMaxMem) return Status::NotFound;
    u32 kept = 0;
    for (u32 i = 0; i < mem_count; ++i)
        if (mem[i].type != MemType::Usable) mem[kept++] = mem[i];
    mem_count = kept;
    for (u32 i = 0; i < info.mem_count; ++i) {
        const MemRange& r = info.mem[i];
        if (r.size == 0) continue;
        if (!add_mem(r.base, r.size, r.type)) return Status::OutOfRange;
        mem[mem_count - 1].uefi_type = r.uefi_type;
    }
    return Status::Ok;
}

bool Platform::add_cpu(u64 hw_id, bool enabled) {
    if (cpu_count >= kMaxCpus) return false;
    for (u32 i = 0; i < cpu_count; ++i)
        if (cpus[i].hw_id == hw_id) return false; // duplicate id: firmware bug, keep the first
    cpus[cpu_count] = CpuDesc{hw_id, enabled, 0, 0, cpu_count, 0, 0};
    ++cpu_count;
    return true;
}

u32 topology_index(u32* keys, u32* count, u32 key) {
    for (u32 i = 0; i < *count; ++i)
        if (keys[i] == key) return i;
    keys[*count] = key;
    return (*count)++;
}

const PciIdRange* Platform::pci_route(u32 rid) const {
    for (u32 i = 0; i < pci_id_count; ++i)
        if (rid >= pci_ids[i].rid_base && rid - pci_ids[i].rid_base < pci_ids[i].rid_count)
            return &pci_ids[i];
    return nullptr;
}

u32 Platform::vtd_unit(u32 rid) const {
    for (u32 i = 0; i < vtd_scope_count; ++i)
        if (!vtd_scopes[i].bridge && vtd_scopes[i].rid == rid) return vtd_scopes[i].unit;
    for (u32 i = 0; i < vtd_count; ++i)
        if (vtd[i].include_all && vtd[i].segment == 0) return i;
    return kNoVtd;
}

u64 Platform::usable_bytes() const {
    u64 total = 0;
    for (u32 i = 0; i < mem_count; ++i)
        if (mem[i].type == MemType::Usable) total += mem[i].size;
    return total;
}

const char* mem_type_name(MemType t) {
    switch (t) {
    case MemType::Usable: return "usable";
    case MemType::Reserved: return "reserved";
    case MemType::AcpiReclaim: return "acpi";
    case MemType::Hypervisor: return "hypervisor";
    }
    return "?";
}

const char* irq_kind_name(IrqControllerKind k) {
    switch (k) {
    case IrqControllerKind::None: return "none";
    case IrqControllerKind::GicV2: return "GICv2";
    case IrqControllerKind::GicV3: return "GICv3";
    case IrqControllerKind::Apic: return "APIC";
    }
    return "?";
}

const char* psci_name(PsciConduit c) {
    switch (c) {
    case PsciConduit::None: return "none";
    case PsciConduit::Smc: return "smc";
    case PsciConduit::Hvc: return "hvc";
    }
    return "?";
}

void print_platform(const Platform& p) {
    using ull = unsigned long long;
    for (u32 i = 0; i < p.mem_count; ++i) {
        const MemRange& m = p.mem[i];
        bool small = m.size < MiB;
        const char* uefi = m.uefi_type == 0                      ? ""
                           : m.uefi_type == MemRange::kUefiMixed ? ", uefi mixed"
                                                                 : ", uefi ";
        kprint("platform: memory %#llx-%#llx %s (%llu %s%s%s)\n", static_cast<ull>(m.base),
               static_cast<ull>(m.base + m.size - 1), mem_type_name(m.type),
               static_cast<ull>(small ? m.size / KiB : m.size / MiB), small ? "KiB" : "MiB", uefi,
               m.uefi_type == 0 || m.uefi_type == MemRange::kUefiMixed
                   ? ""
                   : efi_memory_type_name(m.uefi_type - 1));
    }
    u32 packages = 0, cores = 0, nodes = 0;
    for (u32 i = 0; i < p.cpu_count; ++i) {
        const CpuDesc& c = p.cpus[i];
        packages = c.package + 1 > packages ? c.package + 1 : packages;
        cores = c.core + 1 > cores ? c.core + 1 : cores;
        nodes = c.node + 1 > nodes ? c.node + 1 : nodes;
    }
    kprint("platform: %u cpus: %u packages, %u cores, %u NUMA nodes%s\n", p.cpu_count, packages,
           cores, nodes, p.topology_known ? "" : " (no topology from firmware: a core per cpu)");
    for (u32 i = 0; i < p.cpu_count; ++i)
        kprint("platform: cpu %u hwid %#llx package %u core %u thread %u node %u%s\n", i,
               static_cast<ull>(p.cpus[i].hw_id), p.cpus[i].package, p.cpus[i].core,
               p.cpus[i].thread, p.cpus[i].node, p.cpus[i].enabled ? "" : " (disabled)");
    for (u32 i = 0; i < p.mem_node_count; ++i)
        kprint("platform: NUMA node %u memory %#llx-%#llx\n", p.mem_nodes[i].node,
               static_cast<ull>(p.mem_nodes[i].base),
               static_cast<ull>(p.mem_nodes[i].base + p.mem_nodes[i].size - 1));
    kprint("platform: irq controller %s dist %#llx redist %#llx its %#llx\n",
           irq_kind_name(p.irq_kind), static_cast<ull>(p.irq_dist_base),
           static_cast<ull>(p.irq_redist_base), static_cast<ull>(p.its_base));
    for (u32 i = 0; i < p.redist_more_count; ++i)
        kprint("platform: redistributors also at %#llx size %#llx\n",
               static_cast<ull>(p.redist_more[i].base), static_cast<ull>(p.redist_more[i].size));
    kprint("platform: uart %#llx\n", static_cast<ull>(p.uart_base));
    if (p.ecam_base != 0)
        kprint("platform: pcie ecam %#llx size %#llx buses %u-%u\n", static_cast<ull>(p.ecam_base),
               static_cast<ull>(p.ecam_size), p.pci_bus_start, p.pci_bus_end);
    else
        kprint("platform: pcie ecam none\n");
    kprint("platform: psci %s\n", psci_name(p.psci));
    if (p.timers.virt != 0)
        kprint("platform: timers virt %u phys %u hyp %u\n", p.timers.virt, p.timers.phys,
               p.timers.hyp);
    for (u32 i = 0; i < p.smmu_count; ++i)
        kprint("platform: smmu %u base %#llx event %u gerror %u\n", i,
               static_cast<ull>(p.smmus[i].base), p.smmus[i].event_intid, p.smmus[i].gerror_intid);
    for (u32 i = 0; i < p.vtd_count; ++i) {
        u32 listed = 0;
        for (u32 k = 0; k < p.vtd_scope_count; ++k)
            listed += p.vtd_scopes[k].unit == i;
        kprint("platform: vt-d %u base %#llx segment %u, %s%u functions listed\n", i,
               static_cast<ull>(p.vtd[i].base), p.vtd[i].segment,
               p.vtd[i].include_all ? "every function of the segment, " : "", listed);
    }
    if (p.vtd_count != 0)
        kprint("platform: dmar: %u-bit DMA addresses, interrupt remapping %s, %u RMRRs\n",
               p.dmar_haw, p.dmar_intr_remap ? "supported" : "absent", p.dmar_rmrr_count);
    for (u32 i = 0; i < p.pci_id_count; ++i) {
        const PciIdRange& r = p.pci_ids[i];
        kprint("platform: pci rids %#x-%#x: ", r.rid_base, r.rid_base + r.rid_count - 1);
        if (r.smmu == PciIdRange::kNoSmmu)
            kprint("no smmu");
        else
            kprint("smmu %u streams %#x", r.smmu, r.stream_base);
        if (r.its_mapped)
            kprint(", its devices %#x\n", r.its_device_base);
        else
            kprint(", no its\n");
    }
}

} // namespace keel
