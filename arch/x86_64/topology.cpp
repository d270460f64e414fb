#include "topology.hpp"

namespace keel::x86 {
namespace {

constexpr u32 level_type(u32 ecx) { return (ecx >> 8) & 0xff; } // ECX[15:8]
constexpr u32 shift_of(u32 eax) { return eax & 0x1f; }          // EAX[4:0]
constexpr u32 kTypeInvalid = 0;
constexpr u32 kTypeSmt = 1;
constexpr u32 kMaxSubleaves = 8; // SMT, core, module, tile, die, die group: 6 defined

Result<ApicIdLayout> read_leaf(CpuidFn cpuid, u32 leaf) {
    const CpuidOut first = cpuid(leaf, 0);
    // Sub-leaf 0 is the SMT level on CPUs that implement the leaf; EBX (logical
    // processors at this level) is 0 where they do not.
    if (first.ebx == 0 || level_type(first.ecx) != kTypeSmt) return Status::NotFound;
    ApicIdLayout l{shift_of(first.eax), shift_of(first.eax)};
    for (u32 s = 1; s < kMaxSubleaves; ++s) {
        const CpuidOut r = cpuid(leaf, s);
        if (level_type(r.ecx) == kTypeInvalid) break;
        if (shift_of(r.eax) < l.package_shift) return Status::Corrupt; // widths only grow
        l.package_shift = shift_of(r.eax); // the last level's shift selects the package
    }
    return l;
}

} // namespace

Result<ApicIdLayout> read_apic_id_layout(CpuidFn cpuid) {
    const u32 max_leaf = cpuid(0, 0).eax;
    if (max_leaf >= 0x1f) {
        const Result<ApicIdLayout> l = read_leaf(cpuid, 0x1f);
        if (l.ok()) return l;
    }
    if (max_leaf >= 0xb) return read_leaf(cpuid, 0xb);
    return Status::NotFound;
}

void apply_apic_id_layout(Platform& p, ApicIdLayout layout) {
    u32 cores[Platform::kMaxCpus], packages[Platform::kMaxCpus];
    u32 core_count = 0, package_count = 0;
    for (u32 i = 0; i < p.cpu_count; ++i) {
        const u32 id = static_cast<u32>(p.cpus[i].hw_id);
        CpuDesc& c = p.cpus[i];
        c.thread = layout.smt_bits < 32 ? id & ((1u << layout.smt_bits) - 1) : id;
        c.core =
            topology_index(cores, &core_count, layout.smt_bits < 32 ? id >> layout.smt_bits : 0);
        c.package = topology_index(packages, &package_count,
                                   layout.package_shift < 32 ? id >> layout.package_shift : 0);
    }
    p.topology_known = true;
}

} // namespace keel::x86
