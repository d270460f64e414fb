// The platform IOMMU as the core uses it (issue 13): brought up once at boot when the
// platform has one (an SMMUv3 from IORT or the device tree, or an Intel VT-d unit from
// DMAR; drivers/iommu/), then one translation per assigned PCIe function, faults printed
// on the console. A platform without an IOMMU Keel drives gets ready() == false and no
// function is ever assigned there. "Stream" below is the SMMU's stream ID, or on VT-d
// the function's requester ID (what the unit's context entries are indexed by).
#pragma once

#include "drivers/iommu/smmuv3.hpp"
#include "drivers/iommu/vtd.hpp"
#include "drivers/pci/ecam.hpp"
#include "hypervisor/platform.hpp"

namespace keel {

// Maps and initialises the platform's first SMMUv3, or else its first VT-d unit; prints
// what it found. Every function's DMA is blocked until attached.
Status iommu_bring_up(const Platform& p);
[[nodiscard]] bool iommu_ready();
// What the console calls the IOMMU in use: "smmu" / "SMMU", "vt-d" / "VT-d unit".
[[nodiscard]] const char* iommu_prefix();
[[nodiscard]] const char* iommu_label();
// The stream ID of a PCIe function under the platform's iommu-map (VT-d: its requester
// ID when the unit Keel drives covers it); NotFound outside it.
[[nodiscard]] Result<u32> iommu_stream(const Platform& p, pci::Bdf f);
// Gives the function's stream exactly these IOVA ranges (a VM's: IOVA = its IPA).
Status iommu_attach(const Platform& p, pci::Bdf f, const iommu::DmaMap* maps, u32 count);
Status iommu_detach(const Platform& p, pci::Bdf f);
// Told about each run of SMMU events printed (same type, same stream): the first and how
// many (VT-d faults are printed only).
class IommuEventRuns {
public:
    virtual void run(const iommu::Event& first, u32 count) = 0;

protected:
    ~IommuEventRuns() = default;
};
// Prints and consumes pending events (faults, with the function and address); returns how
// many. Cheap when there are none (two register reads): the boot core's loops call it on
// every pass.
u32 iommu_report_events(IommuEventRuns* also = nullptr);

} // namespace keel
