// What the hypervisor learned about the machine: from the device tree on arm64, from
// Multiboot + ACPI on x86. Arch code fills it; the core only reads it.
#pragma once

#include "hypervisor/boot_info.hpp"
#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel {

enum class IrqControllerKind : u32 { None = 0, GicV2 = 2, GicV3 = 3, Apic = 10 };
enum class PsciConduit : u32 { None = 0, Smc = 1, Hvc = 2 };

// Where a CPU sits: SMT threads of one physical core share `core`. Without topology
// information every CPU is its own core (core = its index) on package 0, node 0.
// No default member initializers: Platform lives in .bss and must need no constructor.
struct CpuDesc {
    u64 hw_id; // arm64: MPIDR affinity bits; x86: local APIC id
    bool enabled;
    u32 acpi_uid; // ACPI processor UID (MADT), links PPTT and SRAT entries to the CPU
    u32 package;  // physical package (socket)
    u32 core;     // physical core, unique across packages
    u32 thread;   // SMT thread within its core
    u32 node;     // NUMA proximity domain
};

// A memory range's NUMA proximity domain (SRAT memory affinity, or numa-node-id).
struct MemNode {
    u64 base;
    u64 size;
    u32 node;
};

// A range of MMIO registers.
struct MmioRange {
    u64 base;
    u64 size;
};

// An SMMUv3 (IORT SMMUv3 node, or a device tree's arm,smmu-v3 node).
struct SmmuDesc {
    u64 base;
    u32 event_intid;  // event queue interrupt (SPI INTID), 0 if none
    u32 gerror_intid; // global error interrupt, 0 if none
};

// Where DMA and MSIs from a range of PCI requester IDs (segment 0) go: through SMMU
// `smmu` as stream IDs from stream_base (kNoSmmu: untranslated), and to the ITS as device
// IDs from its_device_base when its_mapped. IORT root complex mappings followed through
// the SMMU's own mapping, or a device tree's iommu-map and msi-map.
struct PciIdRange {
    static constexpr u32 kNoSmmu = 0xffffffffu;
    u32 rid_base;
    u32 rid_count;
    u32 smmu; // index into Platform::smmus, or kNoSmmu
    u32 stream_base;
    u32 its_device_base;
    bool its_mapped;
};

// An Intel VT-d DMA remapping hardware unit (DMAR DRHD structure, VT-d spec 8.3): its
// register frame and what it covers: the PCI functions its device scope lists or, with
// include_all, every function of its segment that no other unit lists.
struct VtdUnit {
    u64 base;
    u16 segment;
    bool include_all;
};

// One PCI function a DRHD's device scope names (segment 0; a one-element path, so the
// requester ID is the scope's start bus with the path's device and function).
// bridge: a PCI sub-hierarchy (the bridge and everything behind it), else an endpoint.
struct VtdScope {
    u32 unit; // index into Platform::vtd
    u16 rid;
    bool bridge;
};

// The generic timers' interrupts (INTIDs), 0 where the firmware names none: GTDT, or a
// device tree's arm,armv8-timer node (secure, non-secure physical, virtual, hypervisor).
struct TimerIntids {
    u32 secure_phys;
    u32 phys;
    u32 virt;
    u32 hyp;
};

struct Platform {
    static constexpr u32 kMaxCpus = 64;
    // A full boot memory map plus the device tree's reservations.
    static constexpr u32 kMaxMem = BootInfo::kMaxMem + 32;

    MemRange mem[kMaxMem];
    u32 mem_count = 0;
    CpuDesc cpus[kMaxCpus];
    u32 cpu_count = 0;

    IrqControllerKind irq_kind = IrqControllerKind::None;
    u64 irq_dist_base = 0;   // GIC distributor, or I/O APIC
    u64 irq_redist_base = 0; // GICv3 redistributors, or local APIC
    u64 irq_redist_size = 0;
    // GICv3 redistributor ranges after the first (irq_redist_*): servers list one per
    // socket (MADT GICR entries, or the device tree's #redistributor-regions).
    static constexpr u32 kMaxMoreRedist = 3;
    MmioRange redist_more[kMaxMoreRedist];
    u32 redist_more_count = 0;
    u64 its_base = 0; // GICv3 ITS (MSI translation), 0 if none

    u64 uart_base = 0; // MMIO base (arm64) or I/O port (x86)
    u64 ecam_base = 0;
    u64 ecam_size = 0;
    u32 pci_bus_start = 0;
    u32 pci_bus_end = 0;
    PsciConduit psci = PsciConduit::None;
    TimerIntids timers = {};

    static constexpr u32 kMaxSmmus = 4;
    static constexpr u32 kMaxPciIdRanges = 8;
    SmmuDesc smmus[kMaxSmmus];
    u32 smmu_count = 0;
    PciIdRange pci_ids[kMaxPciIdRanges];
    u32 pci_id_count = 0;

    static constexpr u32 kMaxVtd = 4;
    static constexpr u32 kMaxVtdScopes = 32;
    static constexpr u32 kNoVtd = 0xffffffffu;
    VtdUnit vtd[kMaxVtd];
    u32 vtd_count = 0;
    VtdScope vtd_scopes[kMaxVtdScopes];
    u32 vtd_scope_count = 0;
    u8 dmar_haw = 0;              // DMA physical address width in bits (DMAR: its field + 1)
    bool dmar_intr_remap = false; // the platform supports interrupt remapping
    u32 dmar_rmrr_count = 0;      // reserved memory regions firmware devices still DMA to

    bool topology_known = false; // cpus[].package/core/thread come from the firmware
    MemNode mem_nodes[kMaxMem];
    u32 mem_node_count = 0; // 0: one node (no SRAT / numa-node-id)

    bool add_mem(u64 base, u64 size, MemType type);
    // Takes the boot memory map (the UEFI boot stage's, docs/boot-info.md) as the truth about
    // RAM: every Usable range found so far (a device tree's /memory nodes) is dropped, the
    // other ranges (its reservations) stay, and the map's ranges are added with their types.
    // NotFound for an empty map, OutOfRange when the ranges do not fit.
    Status take_boot_map(const BootInfo& info);
    bool add_cpu(u64 hw_id, bool enabled);
    // The range that routes PCI requester ID `rid` (segment 0), or nullptr.
    [[nodiscard]] const PciIdRange* pci_route(u32 rid) const;
    // The VT-d unit that remaps requester ID `rid` of segment 0, or kNoVtd. For an SR-IOV
    // VF pass its PF's: a VF is under the same unit as its PF (VT-d spec 1.2, 8.3.3).
    [[nodiscard]] u32 vtd_unit(u32 rid) const;
    [[nodiscard]] u64 usable_bytes() const;
};

// Numbers topology keys (a PPTT node offset, an APIC id's core field) densely in order of
// first appearance: the index of `key` in keys[0..*count), appended if new. keys must
// have room for one more (at most Platform::kMaxCpus distinct keys).
u32 topology_index(u32* keys, u32* count, u32 key);

const char* mem_type_name(MemType t);
const char* irq_kind_name(IrqControllerKind k);
const char* psci_name(PsciConduit c);
void print_platform(const Platform& p);

} // namespace keel
