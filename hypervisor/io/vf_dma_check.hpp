// keel.test=vf_dma (issue 13): DMA isolation checked from the console. Keel drives a
// provisioned VF's admin queue itself through IOVAs its SMMU stream maps: a command whose
// buffer is mapped must complete with the data there; one whose buffer is not mapped (the
// physical address of a canary page) must fail at the SMMU with an F_TRANSLATION event naming
// the VF's stream and leave the canary as it was; a second VF that is
// not attached must abort on its very first fetch (C_BAD_STE). Then boot goes on.
#pragma once

#include "drivers/sriov/vf_table.hpp"
#include "hypervisor/platform.hpp"

namespace keel {

void vf_dma_check(const Platform& p, pci::ConfigAccess& cfg, sriov::VfTable& vfs);

} // namespace keel
