// Access to a VM's RAM from the hypervisor. Guest RAM is never mapped in the
// hypervisor's tables: each access maps the pages transiently in this CPU's own window
// (paging.hpp window_map: RW, NX, never shared with another CPU), copies, and unmaps them
// again with INVLPG.
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel {
struct Vm;
}

namespace keel::virt {

// Guest-physical ranges inside the VM's RAM (and a multi-vCPU VM's low alias of its first
// 2 MiB) only; anything else is OutOfRange.
Status guest_read(const Vm& vm, u64 gpa, void* dst, usize n);
Status guest_write(const Vm& vm, u64 gpa, const void* src, usize n);
// 4-level paging walk (SDM Vol. 3A 4.5) of guest linear address `la` under `cr3`, with
// 1 GiB and 2 MiB pages; no permission checks (the CPU already made them).
Result<u64> guest_linear_to_phys(const Vm& vm, u64 cr3, u64 la);

} // namespace keel::virt
