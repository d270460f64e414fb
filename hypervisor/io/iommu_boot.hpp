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
#include "hypervisor/io/io_region.hpp"
#include "hypervisor/platform.hpp"

namespace keel {

// Maps and initialises the platform's first SMMUv3, or else its first VT-d unit; prints
// what it found. Every function's DMA is blocked until attached.
Status iommu_bring_up(const Platform& p);
[[nodiscard]] bool iommu_ready();
// Before bring-up: the SMMU's or VT-d unit's structures and every IOMMU table page on other
// memory (the I/O region, hypervisor/io/io_region.hpp) instead of the image's. BadState once
// in use.
Status iommu_use_memory(iommu::SmmuMemory& smmu, iommu::VtdMemory& vtd,
                        u64 (&pages)[kIoTablePages][mm::kEntriesPerTable]);
// A live update's incoming image: the IOMMU bring-up would choose on this platform (its first
// SMMU, else its first VT-d unit), at `base` (the record's), taken over as the outgoing image
// left it on the I/O region (iommu::Smmu::adopt, iommu::Vtd::adopt): nothing is written to
// it. NotFound when the platform has no such IOMMU there.
Status iommu_adopt(const Platform& p, u64 base);
// The register frame of the IOMMU in use (0: none) and how many streams (VT-d: functions)
// it translates (the handover record's Io).
[[nodiscard]] u64 iommu_base();
[[nodiscard]] u32 iommu_streams();
// What the console calls the IOMMU in use: "smmu" / "SMMU", "vt-d" / "VT-d unit".
[[nodiscard]] const char* iommu_prefix();
[[nodiscard]] const char* iommu_label();
// What a detach did to the function's stream, as the console says it.
[[nodiscard]] const char* iommu_quarantine_steps();
// The stream ID of a PCIe function under the platform's iommu-map (VT-d: its requester
// ID when the unit Keel drives covers it); NotFound outside it.
[[nodiscard]] Result<u32> iommu_stream(const Platform& p, pci::Bdf f);
// Gives the function's stream exactly these IOVA ranges (a VM's: IOVA = its IPA).
Status iommu_attach(const Platform& p, pci::Bdf f, const iommu::DmaMap* maps, u32 count);
Status iommu_detach(const Platform& p, pci::Bdf f);
// Interrupt remapping (VT-d units that have it; nothing else): whether MSIs can be routed,
// and IRTE `handle` delivering `vector` to local APIC `apic_id` for requester ID `sid` only
// (iommu::Vtd::route_msi), or not present again. BadState without remapping.
[[nodiscard]] bool iommu_remaps_msis();
Status iommu_route_msi(u16 handle, u8 vector, u32 apic_id, u16 sid);
Status iommu_unroute_msi(u16 handle);
// Whether IRTE `handle` is exactly what iommu_route_msi(handle, vector, apic_id, sid) wrote,
// and whether it is present at all (a live update's incoming image checking the routes the
// record names).
[[nodiscard]] bool iommu_msi_routed(u16 handle, u8 vector, u32 apic_id, u16 sid);
[[nodiscard]] bool iommu_msi_route_present(u16 handle);
// Told about each run of faults printed (same kind, same stream): the stream (VT-d: the
// requester ID), the first fault's address, what it was ("F_TRANSLATION"; VT-d "vt-d 0x5",
// its fault reason) and how many.
class IommuEventRuns {
public:
    virtual void run(u32 stream, u64 address, const char* what, u32 count) = 0;

protected:
    ~IommuEventRuns() = default;
};
// Prints and consumes pending events (faults, with the function and address); returns how
// many. Cheap when there are none (two register reads): the boot core's loops call it on
// every pass.
u32 iommu_report_events(IommuEventRuns* also = nullptr);

} // namespace keel
