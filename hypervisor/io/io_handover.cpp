#include "hypervisor/io/io_handover.hpp"

#include <arch/mailbox.hpp>
#include <arch/vm.hpp>
#include <string.h>

#include "hypervisor/io/io_region.hpp"
#include "hypervisor/io/iommu_boot.hpp"
#include "hypervisor/io/sriov_boot.hpp"
#include "hypervisor/io/vm_vfs.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/vm/vm_manager.hpp"

namespace keel {
namespace {

using ull = unsigned long long;

// The u32 counters, in the record and in the table's Vf, pairwise.
constexpr u32 update::VfRecord::*kRecordCounters[] = {
    &update::VfRecord::owner,         &update::VfRecord::dma_faults,
    &update::VfRecord::msi_first,     &update::VfRecord::msi_vectors,
    &update::VfRecord::msi_delivered, &update::VfRecord::msi_dropped};
constexpr u32 sriov::Vf::*kVfCounters[] = {&sriov::Vf::owner,         &sriov::Vf::dma_faults,
                                           &sriov::Vf::msi_first,     &sriov::Vf::msi_vectors,
                                           &sriov::Vf::msi_delivered, &sriov::Vf::msi_dropped};
static_assert(sizeof kRecordCounters / sizeof *kRecordCounters ==
              sizeof kVfCounters / sizeof *kVfCounters);
static_assert(sizeof sriov::Vf{}.bar == sizeof update::VfRecord{}.bar &&
                  sizeof sriov::Vf{}.bar_size == sizeof update::VfRecord{}.bar_size,
              "docs/handover.md §2.2 Vf");

update::VfRecord vf_record(const sriov::Vf& v, const sriov::VfViewState& view) {
    update::VfRecord r{};
    r.rid = pci::routing_id(v.bdf);
    r.pf_rid = pci::routing_id(v.pf);
    r.index = v.index;
    r.controller = v.controller;
    r.flags = v.provisioned ? update::kVfProvisioned : 0;
    memcpy(r.bar, v.bar, sizeof r.bar);
    memcpy(r.bar_size, v.bar_size, sizeof r.bar_size);
    r.guest_bar0 = v.guest_bar0;
    for (usize i = 0; i < sizeof kVfCounters / sizeof *kVfCounters; ++i)
        r.*kRecordCounters[i] = v.*kVfCounters[i];
    r.view = view;
    return r;
}

sriov::Vf vf_from(const update::VfRecord& r) {
    sriov::Vf v;
    v.bdf = pci::bdf_of(r.rid);
    v.pf = pci::bdf_of(r.pf_rid);
    v.index = r.index;
    v.controller = r.controller;
    v.provisioned = (r.flags & update::kVfProvisioned) != 0;
    memcpy(v.bar, r.bar, sizeof v.bar);
    memcpy(v.bar_size, r.bar_size, sizeof v.bar_size);
    v.guest_bar0 = r.guest_bar0;
    for (usize i = 0; i < sizeof kVfCounters / sizeof *kVfCounters; ++i)
        v.*kVfCounters[i] = r.*kRecordCounters[i];
    return v;
}

} // namespace

Status io_describe(update::HandoverWriter& w, u32 vm_mask) {
    const IoRegion* region = io_region();
    if (region == nullptr) return Status::Ok;
    const sriov::VfTable& vfs = vf_table();
    update::IoRecord io{};
    io.region_base = reinterpret_cast<uptr>(region);
    io.region_size = io_region_size();
    io.layout_bytes = sizeof(IoRegion);
    io.vf_count = vfs.count();
    io.iommu_base = iommu_base();
    io.iommu_streams = iommu_streams();
    KEEL_TRY(arch::msi_describe(io));
    KEEL_TRY(w.add(update::RecordType::Io, io));
    for (u32 i = 0; i < vfs.count(); ++i) {
        static update::VfRecord r; // off the boot core's stack
        r = vf_record(vfs.at(i), vm_vfs_view(i));
        KEEL_TRY(w.add(update::RecordType::Vf, r));
    }
    for (u32 id = 1; id <= update::kHandoverMaxVms; ++id) {
        if ((vm_mask >> id & 1) == 0) continue;
        update::VmPciRecord r{};
        if (!vm_vfs_bus(id, r)) { // no devices: every hierarchy as out of reset
            r.vm_id = id;
            r.window = static_cast<u32>(arch::kGuestPciWindow.raw());
        }
        KEEL_TRY(w.add(update::RecordType::VmPci, r));
    }
    return Status::Ok;
}

Status io_adopt(const update::HandoverView& v, const Platform& p, const char** why) {
    if (v.io == nullptr) return Status::Ok;
    const update::IoRecord& io = *v.io;
    *why = "the I/O region's layout differs";
    if (io.layout_bytes != sizeof(IoRegion)) return Status::Unsupported;
    *why = "the I/O region";
    KEEL_TRY(io_region_take(io.region_base, io.region_size));
    if (io.iommu_base != 0) {
        *why = "the IOMMU";
        KEEL_TRY(iommu_adopt(p, io.iommu_base));
        *why = "the IOMMU's streams";
        if (iommu_streams() != io.iommu_streams) return Status::Corrupt;
    }
    *why = "the MSI controller";
    KEEL_TRY(arch::msi_adopt(io));
    *why = "the VF table";
    if (io.vf_count != 0 && (p.ecam_base == 0 || p.ecam_size < MiB)) return Status::NotFound;
    if (io.vf_count != 0) KEEL_TRY(arch::mailbox_map_device(p.ecam_base, MiB));
    u32 owned = 0;
    for (u32 i = 0; i < v.vf_count; ++i) {
        const sriov::Vf f = vf_from(*v.vfs[i]);
        KEEL_TRY(vf_table().adopt(f));
        if (f.bar[0] != 0) KEEL_TRY(arch::mailbox_map_device(f.bar[0], f.bar_size[0]));
        owned += f.owner != sriov::kNoOwner;
    }
    vm_manager().adopt_devices(vm_vfs_adopt(p, vf_table(), v));
    u32 devices = 0;
    for (const update::IoMsiDevice& d : io.msi_map)
        devices += d.events != 0;
    kprint("handover: I/O adopted: region %#llx, %s at %#llx with %u streams translating, %s "
           "with %u devices mapped, %u VFs (%u owned)\n",
           static_cast<ull>(io.region_base), iommu_label(), static_cast<ull>(io.iommu_base),
           io.iommu_streams, arch::kMsiControllerName, devices, io.vf_count, owned);
    *why = "";
    return Status::Ok;
}

} // namespace keel
