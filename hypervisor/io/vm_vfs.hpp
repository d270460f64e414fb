// SR-IOV VFs as VM devices (issue 13, docs/sriov.md "Assignment"): the image's VmDevices.
// Attach: ownership (VF table), the VF's SMMU stream translating IOVA = the VM's IPA onto
// exactly its memory, bus mastering, and the VF's BAR0 in the VM's second stage (a slot of
// arch::kGuestPciWindow). Detach and the VM's end: BAR0 unmapped, bus mastering off, FLR,
// stream back to abort with CFGI_STE + TLBI + CMD_SYNC, then unowned. Boot core only.
#pragma once

#include "drivers/sriov/vf_table.hpp"
#include "hypervisor/platform.hpp"
#include "hypervisor/vm/vm_devices.hpp"

namespace keel {

// Where post-boot DMA faults go besides the console and the owner's stats (the mailbox's
// audit log when it is attached).
class DmaFaultSink {
public:
    virtual void dma_fault(u32 owner, const char* detail) = 0;

protected:
    ~DmaFaultSink() = default;
};
void set_dma_fault_sink(DmaFaultSink* sink);

// The VM manager's devices when the platform has an SMMU Keel drives and VFs were
// enabled; nullptr otherwise (every attach then answers "no VF at that address").
VmDevices* vm_vfs(const Platform& p, sriov::VfTable& vfs);

} // namespace keel
