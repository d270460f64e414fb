// Giving a VF to a VM and taking it back (issue 13, docs/sriov.md "Assignment"): the
// ownership rules (vf_table.hpp), the VF's DMA translation (IOVA = the VM's IPA onto
// exactly the VM's memory) and the way out: bus mastering off, Function Level Reset,
// then the stream back to abort with its cached configuration and TLB entries
// invalidated (quarantine), all before the caller hands the VM's memory to anyone else.
// Pure logic over the VF table, config space, a wait and a DmaIsolation (the IOMMU
// glue in hypervisor/io/); host-tested in tests/unit/vf_assign_test.cpp.
#pragma once

#include "drivers/iommu/smmuv3.hpp"
#include "drivers/pci/flr.hpp"
#include "drivers/sriov/vf_table.hpp"

namespace keel::sriov {

// Why an attach or detach was refused: each rule its own reason (mailbox ABI values,
// docs/mailbox.md §3.11).
enum class VfError : u32 {
    None = 0,
    UnknownBdf = 1,     // no VF Keel enabled there (and not a PF either)
    IsPf = 2,           // a physical function: never assignable
    NotProvisioned = 3, // a VF whose provisioning failed
    OwnedByOther = 4,   // another VM owns it
    AlreadyOwned = 5,   // this VM owns it already
    NotOwned = 6,       // detach: this VM does not own it
    VmState = 7,        // the VM is not created-and-not-running (or does not exist)
    NoIommu = 8,        // no IOMMU translates the VF's stream: it is never assigned
    NoRoom = 9,         // out of IOMMU contexts, tables or guest BAR slots
    Hardware = 10,      // the IOMMU did not complete a command
    Unsupported = 11,   // this architecture does not give VFs to VMs (arch::kAssignsVfs)
};
const char* vf_error_text(VfError e);

// The VM's memory as its devices see it: one run, IOVA = IPA.
struct VmMemory {
    u64 ipa = 0;
    PhysAddr pa{};
    u64 size = 0;
};

// The IOMMU as assignment uses it (the image: the SMMU through hypervisor/io/).
class DmaIsolation {
public:
    // The function's stream translates exactly `maps` (and nothing else reaches memory).
    virtual Status attach(pci::Bdf f, const iommu::DmaMap* maps, u32 count) = 0;
    // The function's stream back to abort; returns once the IOMMU has dropped every
    // cached configuration and translation of it (invalidate + sync completed).
    virtual Status quarantine(pci::Bdf f) = 0;

protected:
    ~DmaIsolation() = default;
};

class VfAssigner {
public:
    VfAssigner(VfTable& vfs, pci::ConfigAccess& cfg, DmaIsolation& dma, pci::Waiter& wait)
        : vfs_(vfs), cfg_(cfg), dma_(dma), wait_(wait) {}

    // VF `f` to VM `vm`: ownership, then its stream translates IOVA = mem.ipa.. onto
    // mem.pa.. (plus `extra`: the MSI doorbell page), then bus mastering on. On any refusal
    // nothing changes. `extra` must not overlap the VM's IOVA range (InvalidArgument).
    Status attach(u32 vm, const VmMemory& mem, pci::Bdf f, VfError* why,
                  const iommu::DmaMap* extra = nullptr);
    // VF `f` back from VM `vm`: reset and quarantined (see above), then unowned.
    Status detach(u32 vm, pci::Bdf f, VfError* why);
    // Every VF `vm` owns, as detach; returns how many. For the VM's end, before its
    // memory goes back to the pool.
    u32 detach_all(u32 vm);

private:
    // FLR and quarantine of an owned VF; the owner is cleared only when the stream is
    // known to abort (a VF whose quarantine failed stays owned: never reassigned).
    Status take_back(Vf& v);

    VfTable& vfs_;
    pci::ConfigAccess& cfg_;
    DmaIsolation& dma_;
    pci::Waiter& wait_;
};

} // namespace keel::sriov
