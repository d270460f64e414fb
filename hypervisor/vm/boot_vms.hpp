// The boot-time client of the VM manager: VMs from `keel.vm=` words on the hypervisor
// command line (vm_def.hpp, docs/vm-definitions.md). Each definition is admitted,
// loaded (a Linux Image + initrd the firmware's loader left in host RAM, or the image's
// built-in test guest) and started through the same calls the mailbox uses; `after:`
// VMs start once their predecessor has ended. Returns once every VM has ended and the
// pool is back at its baseline (panics otherwise).
#pragma once

#include "hypervisor/types.hpp"

namespace keel {

// Number of keel.vm= words on the command line.
u32 vm_definition_count(const char* cmdline);
// `when_idle` (may be null) runs once on the boot core as soon as it has nothing to do:
// after the first VMs started, or, in bench mode where the boot core runs a vCPU itself,
// after that vCPU stopped. Work that must not delay the first guest goes there.
void run_boot_vms(const char* cmdline, u64 cores_online, u32 boot_cpu,
                  void (*when_idle)() = nullptr);

} // namespace keel
