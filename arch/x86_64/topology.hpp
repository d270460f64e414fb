// SMT/core/package of every CPU from its x2APIC id, decomposed with the widths CPUID's
// extended topology leaf reports (leaf 0x1F, else 0x0B; Intel SDM vol. 3A 9.9 "Topology
// enumeration"; AMD reports the same leaf 0x0B on CPUs with it). Pure logic apart from
// the CPUID callback, host-tested (tests/unit/x86_topology_test.cpp).
#pragma once

#include "hypervisor/platform.hpp"
#include "hypervisor/status.hpp"

namespace keel::x86 {

struct CpuidOut {
    u32 eax, ebx, ecx, edx;
};
using CpuidFn = CpuidOut (*)(u32 leaf, u32 subleaf);

// Widths of the x2APIC id's fields: the low `smt_bits` bits number the thread within
// its core; bits from `package_shift` up number the package.
struct ApicIdLayout {
    u32 smt_bits;
    u32 package_shift;
};

// Reads the layout through `cpuid` (the boot CPU's; every CPU reports the same widths).
// NotFound when neither leaf is implemented (max leaf too low, or sub-leaf 0 not SMT).
Result<ApicIdLayout> read_apic_id_layout(CpuidFn cpuid);

// Sets package/core/thread of every CPU in `p` (hw_id = APIC id) and topology_known.
void apply_apic_id_layout(Platform& p, ApicIdLayout layout);

} // namespace keel::x86
