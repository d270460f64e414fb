// SR-IOV VFs as VM devices (issue 13, docs/sriov.md "Assignment"): the image's VmDevices.
// Attach: ownership (VF table), the VF's SMMU stream translating IOVA = the VM's IPA onto
// exactly its memory, bus mastering, and the VF's BAR0 in the VM's second stage (a slot of
// arch::kGuestPciWindow). Detach and the VM's end: BAR0 unmapped, bus mastering off, FLR,
// stream back to abort with CFGI_STE + TLBI + CMD_SYNC, then unowned. Boot core only.
#pragma once

#include "drivers/sriov/vf_table.hpp"
#include "hypervisor/platform.hpp"
#include "hypervisor/update/handover.hpp"
#include "hypervisor/vm/vm_devices.hpp"

namespace keel {

// Where VF events go besides the console (the mailbox's audit log when it is attached):
// post-boot DMA faults (also counted in the owner's stats), and the VFs taken back at a
// VM's end, which no client command asked for.
class VfEventSink {
public:
    virtual void dma_fault(u32 owner, const char* detail) = 0;
    virtual void vf_released(u32 owner, const char* detail) = 0;

protected:
    ~VfEventSink() = default;
};
void set_vf_event_sink(VfEventSink* sink);

// The VM manager's devices when the platform has an SMMU Keel drives and VFs were
// enabled; nullptr otherwise (every attach then answers "no VF at that address").
VmDevices* vm_vfs(const Platform& p, sriov::VfTable& vfs);

// A live update (docs/handover.md §2.2 Vf, VmPci). The outgoing image: the guest view of the
// table's VF `i`, and VM `vm_id`'s PCI hierarchy (false: no devices). The incoming image,
// with the table adopted: the devices with every view and every recorded VM's hierarchy as
// recorded (nullptr when there are none to adopt).
[[nodiscard]] sriov::VfViewState vm_vfs_view(u32 i);
[[nodiscard]] bool vm_vfs_bus(u32 vm_id, update::VmPciRecord& r);
VmDevices* vm_vfs_adopt(const Platform& p, sriov::VfTable& vfs, const update::HandoverView& v);

} // namespace keel
