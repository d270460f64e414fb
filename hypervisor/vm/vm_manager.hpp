// VM lifecycle on the boot core, until the mailbox exists: VMs come from keel.vm= words
// (vm_def.hpp), are admitted (cores and memory checked, memory zeroed from the pool),
// started on their own cores, and the boot core then waits until every VM has ended,
// starting `after:` VMs as their predecessors go. Returns once all are gone and the
// pool is back to its baseline (panics otherwise).
#pragma once

#include "hypervisor/vm/vm.hpp"

namespace keel {

// Number of keel.vm= words on the command line.
u32 vm_definition_count(const char* cmdline);
void run_vms(const char* cmdline, u64 cores_online, u32 boot_cpu);
// Called by the arch on the VM's core once its arch state is torn down.
void vm_stopped(Vm& vm, VmEnd end);

} // namespace keel
