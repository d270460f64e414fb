// The I/O state across a live update (docs/handover.md §2.2 Io, Vf, VmPci; §4 step 4): what an
// assigned VF needs to keep its DMA, its MSIs and its guest's view while the image under it
// changes. Nothing of it is rebuilt: the I/O region (io_region.hpp) stays where it is, the
// SMMU and the ITS keep running on it, and the incoming image takes over their software
// state from the hardware (checked against the record) and the record.
#pragma once

#include "hypervisor/platform.hpp"
#include "hypervisor/update/handover.hpp"

namespace keel {

// The outgoing image, while quiesced, after the Vm records: Io, then one Vf per VF in the
// table and one VmPci per VM in `vm_mask` (bit id). Nothing when there is no I/O region.
Status io_describe(update::HandoverWriter& w, u32 vm_mask);
// The incoming image, after the VMs, with the region the record names mapped: the region, the
// SMMU, the MSI controller, the VF table (each VF's BAR0 mapped for Keel) and the devices of
// the adopted VMs. Ok at once without an Io record. On a refusal *why says which part.
Status io_adopt(const update::HandoverView& v, const Platform& p, const char** why);

} // namespace keel
