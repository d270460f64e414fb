// Per-CPU state on x86_64: one slot per CPU Keel brings up, found through IA32_GS_BASE
// (written once per CPU, also the VMCS host GS base, so it survives VM exits).
//
//   slot = descriptor/VMXON/host-save slot: the boot CPU is slot 0, every other CPU its own
//          index (the CPU with index 0, if it is not the boot CPU, takes the boot
//          CPU's index instead), so the boot CPU's early tables never move.
#pragma once

#include "descriptors.hpp"
#include "hypervisor/types.hpp"

namespace keel {
struct Vm;
}

namespace keel::x86 {

inline constexpr u32 kMsrIa32GsBase = 0xc0000101;

struct PerCpu {
    u32 index = 0; // position in the MADT list (Platform::cpus)
    u32 slot = 0;  // descriptors, VMXON region, stacks
    u32 apic_id = 0;
    u32 online = 0;       // atomic: set by the CPU itself once it runs C++
    bool virt_on = false; // in VMX operation / EFER.SVME set (virt/backend.hpp)
    u16 last_vm = 0;      // the VM whose vCPU this CPU ran last (virt/core_reset.cpp)
    Vm* work = nullptr;   // atomic: the VM one of whose vCPUs this CPU runs
};

PerCpu& cpu(u32 index);
// This CPU's slot (valid once descriptors and GS base are set: boot CPU from the start).
PerCpu& this_cpu();

} // namespace keel::x86
