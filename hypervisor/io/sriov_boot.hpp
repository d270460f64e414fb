// Boot-time SR-IOV bring-up (issue 13): finds the SR-IOV NVMe physical functions on the
// root bus, places and enables their VFs, provisions each VF's secondary controller and
// namespace through the PF's admin queue, and records every VF in the VF table. Runs on
// the boot core before the mailbox places its BARs (drivers/pci/claims.hpp).
#pragma once

#include "drivers/sriov/vf_table.hpp"
#include "hypervisor/boot_info.hpp"
#include "hypervisor/cmdline.hpp"
#include "hypervisor/platform.hpp"

namespace keel {

// Returns the number of VFs recorded (0: no SR-IOV PF, or it failed; why is on the console).
// `outlive_image`: the machine may be live-updated (the mailbox serves it), so the IOMMU's
// and MSI controller's tables and the PF queues go into the I/O region (io_region.hpp).
u32 sriov_bring_up(const BootInfo& info, const Platform& p, const Cmdline& cmdline,
                   bool outlive_image);
sriov::VfTable& vf_table();

} // namespace keel
