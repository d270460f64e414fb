// The PCIe functions a VM is given (issue 13: SR-IOV VFs, docs/sriov.md "Assignment"), as
// the VM manager sees them: it checks the VM's state and makes its RAM ready for DMA, the
// implementation (the image: hypervisor/io/vm_vfs.cpp) does ownership, the IOMMU and
// the guest's mapping. Called under the manager's lock, on the boot core.
#pragma once

#include "hypervisor/status.hpp"

namespace keel {

struct Vm;

// The guest's PCI configuration space (ECAM layout: offset = bus << 20 | device << 15 |
// function << 12 | register): its hot-plug root ports on bus 0 and the functions assigned
// to it behind them. Called on the VM's own vCPUs, for each trapped access to the ECAM window
// the arch gives the guest, while the VM runs; functions come and go meanwhile (hot-plug:
// attach and detach of a running VM). Functions the VM does not have read all ones.
class GuestPci {
public:
    virtual u32 config_read(const Vm& vm, u32 offset, u32 size) = 0;
    virtual void config_write(Vm& vm, u32 offset, u32 size, u32 value) = 0;
    // A trapped access of `size` bytes to the guest's PCI memory window (`ipa`): the parts
    // of a function's BARs Keel does not map (the MSI-X table and PBA), and the rest of the
    // window, where no function answers (a removed one's BAR included): reads all ones,
    // writes dropped, as a root port answers an Unsupported Request. False: an access the
    // view cannot take (the guest gets an abort).
    // A write may unmask MSI-X vectors whose messages were held: they are sent to `vm` then.
    virtual bool bar_access(Vm& vm, u64 ipa, u32 size, bool write, u64* value) = 0;

protected:
    ~GuestPci() = default;
};

class VmDevices {
public:
    // A VM was created: its PCI view (hot-plug slots, all empty), or nullptr for none.
    virtual GuestPci* vm_created(Vm& vm) = 0;
    // A VM a live update's incoming image adopted: its PCI view as the devices took it from
    // the handover record (nothing reset), or nullptr.
    virtual GuestPci* vm_adopted(Vm& vm) = 0;
    // Function `rid` (PCIe routing ID) to VM `vm`, created (Loading or Ready: present when
    // the guest boots) or Running (hot-plugged: the guest's slot reports a card), its RAM
    // ready for DMA. On a refusal `why` is a sriov::VfError value; nothing changes.
    virtual Status attach(Vm& vm, u16 rid, u32* why) = 0;
    // Takes it back; from a running VM as a surprise removal: the slot reports the card
    // gone, then the function is reset and quarantined whatever the guest does.
    virtual Status detach(Vm& vm, u16 rid, u32* why) = 0;
    // No vCPU of `vm` runs and it still owns its memory: every function it holds is
    // reset and cut off from memory (quarantined) before the manager frees that memory.
    virtual void vm_ending(Vm& vm) = 0;
    // Its RAM moved in its guest-physical space before it first ran (x86: a Linux VM's RAM
    // goes to GPA 0 at start): each function it holds gets its translation (IOVA = the new
    // guest-physical addresses) and its BAR mapping again. Nothing to do where RAM never moves.
    virtual Status vm_moved(Vm& vm) {
        (void)vm;
        return Status::Ok;
    }
    // Reports what the devices raised since the last call (IOMMU faults: console, the
    // owner's VmStats::dma_faults, the audit log). Boot core, outside the manager's lock.
    virtual void poll() = 0;

protected:
    ~VmDevices() = default;
};

} // namespace keel
