// The guest's GICv2m MSI frame (vm_msi.cpp; docs/sriov.md "MSI-X"), for VMs with VFs.
#pragma once

#include "vcpu.hpp"

namespace keel::arm64 {

// A trapped access at `off` into the frame (guest_map.hpp kGuestMsiFrameIpa); false: none.
bool msi_frame_mmio(Vcpu& v, u64 off, bool write, u64* value);

} // namespace keel::arm64
