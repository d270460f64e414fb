// Every VF Keel has enabled, one record each: where it is (BDF, routing ID = its SMMU
// stream ID on platforms with an identity iommu-map), its BARs, whether Keel's PF
// provisioning finished for it, and which VM owns it. The rules of ownership live here
// so the mailbox and boot paths share them: one VM per VF, the PF never assignable, an
// unprovisioned VF refused, each with its own error. Pure logic, host-tested.
#pragma once

#include "drivers/sriov/sriov_cap.hpp"

namespace keel::sriov {

constexpr u32 kNoOwner = 0; // VM ids start at 1

struct Vf {
    pci::Bdf bdf;
    pci::Bdf pf;
    u16 index = 0;      // VF number - 1 (0-based within its PF)
    u16 controller = 0; // device-specific id (NVMe: secondary controller id), 0 if none
    bool provisioned = false;
    u32 owner = kNoOwner;
    u64 bar[6] = {}; // this VF's BAR addresses (0: not implemented)
    u64 bar_size[6] = {};
    u64 guest_bar0 = 0; // where the owner's guest sees BAR0 (its IPA), 0 while unowned
    u32 dma_faults = 0; // IOMMU faults on its stream since boot
    u32 msi_first = 0;  // the arch's MSI token of MSI-X vector 0 while owned (0: no MSIs)
    u32 msi_vectors = 0;
    u32 msi_delivered = 0,
        msi_dropped = 0; // to the guest (now or on unmask) / not aimed at its frame
};

class VfTable {
public:
    static constexpr u32 kMax = 32;

    // Records VFs 0..cap.num_vfs-1 of `pf` with their BARs. NoMemory past kMax (nothing
    // recorded), OutOfRange when a VF's routing ID passes `last_bus`.
    Status add_pf(pci::Bdf pf, const Capability& cap, const pci::Bar (&bars)[6], u32 last_bus);
    [[nodiscard]] u32 count() const { return count_; }
    // A live update's incoming image: one VF as the outgoing image recorded it, appended.
    // NoMemory past kMax, AlreadyExists for a BDF already in the table.
    Status adopt(const Vf& v);
    [[nodiscard]] const Vf& at(u32 i) const { return vfs_[i]; }
    Vf* find(pci::Bdf f);
    Vf* by_index(pci::Bdf pf, u16 index);
    // Ownership: NotFound (no such VF), Unsupported (a PF), BadState (not provisioned),
    // Busy (owned by another VM; a second attach by the owner is AlreadyExists).
    Status assign(pci::Bdf f, u32 vm);
    // NotFound (no such VF), BadState (not owned by `vm`).
    Status release(pci::Bdf f, u32 vm);
    [[nodiscard]] bool is_pf(pci::Bdf f) const;

private:
    Vf vfs_[kMax];
    u32 count_ = 0;
};

} // namespace keel::sriov
