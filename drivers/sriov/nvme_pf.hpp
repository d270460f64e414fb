// NVMe PF provisioning, the way a card's firmware would do it (NVM Express Base 2.0
// §8.26 Virtualization Enhancements): for every enabled VF, take its secondary
// controller offline, assign it flexible queue (VQ) and interrupt (VI) resources, bring
// it online, and attach its own namespace. Afterwards the VF is marked provisioned in
// the VF table with its secondary controller id; a VF whose step failed stays
// unprovisioned (and so can never be assigned). Every step and its status goes to the
// console.
#pragma once

#include "drivers/sriov/nvme_admin.hpp"
#include "drivers/sriov/vf_table.hpp"

namespace keel::nvme {

struct ProvisionPlan {
    u16 vq_per_vf = 2; // admin queue + one I/O queue pair: the least a controller runs with
    u16 vi_per_vf = 1;
    // VF i gets namespace first_nsid + i when the subsystem has it (one namespace per VM).
    u32 first_nsid = 1;
};

// `scratch` is one DMA page for identify data and controller lists. Returns Ok when the
// PF's admin commands worked (individual VFs may still have failed: see the table);
// the PF's own failure (identify, no secondary controllers) is returned as is.
Status provision_pf(AdminQueue& q, DmaBuffer scratch, pci::Bdf pf, sriov::VfTable& table,
                    const ProvisionPlan& plan);

} // namespace keel::nvme
