// The platform IOMMU as the core uses it (issue 13): brought up once at boot when the
// platform has one (arm64: SMMUv3, drivers/iommu/), then one translation per assigned
// PCIe function, faults printed on the console. Platforms without an IOMMU Keel drives
// (x86 today) get ready() == false and no stream is ever assigned there.
#pragma once

#include "drivers/iommu/smmuv3.hpp"
#include "drivers/pci/ecam.hpp"
#include "hypervisor/platform.hpp"

namespace keel {

// Maps and initialises the SMMU described by the platform; prints what it found. Every
// stream aborts until attached.
Status iommu_bring_up(const Platform& p);
[[nodiscard]] bool iommu_ready();
// The stream ID of a PCIe function under the platform's iommu-map; NotFound outside it.
[[nodiscard]] Result<u32> iommu_stream(const Platform& p, pci::Bdf f);
// Gives the function's stream exactly these IOVA ranges (a VM's: IOVA = its IPA).
Status iommu_attach(const Platform& p, pci::Bdf f, const iommu::DmaMap* maps, u32 count);
Status iommu_detach(const Platform& p, pci::Bdf f);
// Told about each run of events printed (same type, same stream): the first and how many.
class IommuEventRuns {
public:
    virtual void run(const iommu::Event& first, u32 count) = 0;

protected:
    ~IommuEventRuns() = default;
};
// Prints and consumes pending events (faults); returns how many. Cheap when there are
// none (two register reads): the boot core's loops call it on every pass.
u32 iommu_report_events(IommuEventRuns* also = nullptr);

} // namespace keel
