// What the hypervisor learned about the machine: from the device tree on arm64, from
// Multiboot + ACPI on x86. Arch code fills it; the core only reads it.
#pragma once

#include "hypervisor/boot_info.hpp"
#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel {

enum class IrqControllerKind : u32 { None = 0, GicV2 = 2, GicV3 = 3, Apic = 10 };
enum class PsciConduit : u32 { None = 0, Smc = 1, Hvc = 2 };

struct CpuDesc {
    u64 hw_id; // arm64: MPIDR affinity bits; x86: local APIC id
    bool enabled;
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

    u64 uart_base = 0; // MMIO base (arm64) or I/O port (x86)
    u64 ecam_base = 0;
    u64 ecam_size = 0;
    u32 pci_bus_start = 0;
    u32 pci_bus_end = 0;
    PsciConduit psci = PsciConduit::None;

    bool add_mem(u64 base, u64 size, MemType type);
    // Takes the boot memory map (the UEFI boot stage's, docs/boot-info.md) as the truth about
    // RAM: every Usable range found so far (a device tree's /memory nodes) is dropped, the
    // other ranges (its reservations) stay, and the map's ranges are added with their types.
    // NotFound for an empty map, OutOfRange when the ranges do not fit.
    Status take_boot_map(const BootInfo& info);
    bool add_cpu(u64 hw_id, bool enabled);
    [[nodiscard]] u64 usable_bytes() const;
};

const char* mem_type_name(MemType t);
const char* irq_kind_name(IrqControllerKind k);
const char* psci_name(PsciConduit c);
void print_platform(const Platform& p);

} // namespace keel
