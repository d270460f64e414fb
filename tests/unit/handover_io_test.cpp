// The I/O records of a handover record set (docs/handover.md §2.2 Io, Vf, VmPci; §2.3): an
// assigned VF's state round trips, and each rule about where the records may stand and what
// they may name is enforced on a record the writer sealed (the hash is right, so the rule is
// what refuses).
#include <vector>

#include "handover_samples.hpp"

namespace keel::update {
namespace {

using namespace sample;

IoRecord io(u32 vfs) {
    IoRecord r{};
    r.region_base = 0x47e00000;
    r.region_size = 2 * MiB;
    r.layout_bytes = 0x70000;
    r.vf_count = vfs;
    r.iommu_base = 0x09050000;
    r.iommu_streams = 2;
    r.msi_ready = 1;
    r.msi_base = 0x08080000;
    r.msi_target = 0x80a0000;
    r.msi_cwriter = 0x60;
    r.msi_devices = kHandoverMaxMsiDevices;
    r.msi_map[0] = IoMsiDevice{0x11, 8192, 1, 0};
    r.msi_map[3] = IoMsiDevice{0x12, 8193, 2, 0};
    return r;
}

VfRecord vf(u16 rid, u32 owner) {
    VfRecord r{};
    r.rid = rid;
    r.pf_rid = 0x10;
    r.index = static_cast<u16>(rid - 0x11);
    r.controller = static_cast<u16>(rid - 0x10);
    r.owner = owner;
    r.flags = kVfProvisioned;
    r.bar[0] = 0x10000000 + (rid - 0x11) * 0x4000ull;
    r.bar_size[0] = 0x4000;
    r.guest_bar0 = owner != 0 ? 0x10000000 : 0;
    r.msi_first = 8192;
    r.msi_vectors = 1;
    r.view.id.vendor = 0x1b36;
    r.view.id.msix = 1;
    r.view.msix[0] = sriov::MsixEntryView{0x08020040, 0, 48, 0};
    return r;
}

VmPciRecord pci(u32 vm_id) {
    VmPciRecord r{};
    r.vm_id = vm_id;
    r.window = 0x10000000;
    r.slot_size = static_cast<u32>(MiB);
    r.ports[0].slot = 1;
    r.ports[0].slot_status = 0x0040 | 0x0100; // present, link changed
    r.ports[0].msi_lo = 0x08020040;
    return r;
}

void vm_records(HandoverWriter& w, u32 id) {
    (void)w.add(RecordType::Vm, vm(id, 1));
    (void)w.add(RecordType::Stage2, stage2(id));
    (void)w.add(RecordType::VgicDist, dist(id));
    (void)w.add(RecordType::VmDevices, devices(id));
    (void)w.add(RecordType::Console, console(id));
    (void)w.add(RecordType::MailboxVm, mailbox_vm(id));
    (void)w.add(RecordType::Vcpu, vcpu(id, 0));
}

void tail(HandoverWriter& w) {
    (void)w.add(RecordType::Mailbox, mailbox());
    (void)w.add_pool(kRuns, 3);
}

// OldImage, VMs 1 and 2, Io with two VFs (VM 1 owns the first), a VmPci per VM.
void good(HandoverWriter& w) {
    (void)w.add(RecordType::OldImage, old_image());
    vm_records(w, 1);
    vm_records(w, 2);
    (void)w.add(RecordType::Io, io(2));
    (void)w.add(RecordType::Vf, vf(0x11, 1));
    (void)w.add(RecordType::Vf, vf(0x12, 0));
    (void)w.add(RecordType::VmPci, pci(1));
    (void)w.add(RecordType::VmPci, pci(2));
    tail(w);
}

Status parse_written(void (*write)(HandoverWriter&), HandoverView& v, Buf& b) {
    HandoverWriter w(b.data(), b.size(), 1);
    write(w);
    Result<u64> n = w.seal();
    if (!n.ok()) return n.status();
    return parse(b, n.value(), v);
}

TEST(HandoverIo, AnAssignedVfRoundTrips) {
    Buf b;
    HandoverView v;
    ASSERT_EQ(parse_written(good, v, b), Status::Ok);
    ASSERT_NE(v.io, nullptr);
    EXPECT_EQ(v.io->region_base, 0x47e00000u);
    EXPECT_EQ(v.io->msi_map[3].first, 8193u);
    ASSERT_EQ(v.vf_count, 2u);
    EXPECT_EQ(v.vfs[0]->owner, 1u);
    EXPECT_EQ(v.vfs[0]->view.msix[0].data, 48u);
    EXPECT_EQ(v.vfs[1]->rid, 0x12u);
    ASSERT_NE(v.vm_pci[0], nullptr);
    ASSERT_NE(v.vm_pci[1], nullptr);
    EXPECT_EQ(v.vm_pci[0]->ports[0].slot_status, 0x140u);
    EXPECT_EQ(v.vm_pci[1]->vm_id, 2u);
}

TEST(HandoverIo, WithoutIoRecordsNothingOfItIsAsked) {
    Buf b;
    HandoverView v;
    const u64 n = write_sample(b); // no VF, no I/O region: as a machine without an IOMMU
    ASSERT_EQ(parse(b, n, v), Status::Ok);
    EXPECT_EQ(v.io, nullptr);
    EXPECT_EQ(v.vf_count, 0u);
    EXPECT_EQ(v.vm_pci[0], nullptr);
}

struct Rule {
    const char* name;
    void (*write)(HandoverWriter&);
};

const Rule kRules[] = {
    {"a Vf before the Io record",
     [](HandoverWriter& w) {
         (void)w.add(RecordType::OldImage, old_image());
         vm_records(w, 1);
         (void)w.add(RecordType::Vf, vf(0x11, 1));
         (void)w.add(RecordType::Io, io(1));
         (void)w.add(RecordType::VmPci, pci(1));
         tail(w);
     }},
    {"more Vf records than Io counts",
     [](HandoverWriter& w) {
         (void)w.add(RecordType::OldImage, old_image());
         vm_records(w, 1);
         (void)w.add(RecordType::Io, io(1));
         (void)w.add(RecordType::Vf, vf(0x11, 1));
         (void)w.add(RecordType::Vf, vf(0x12, 0));
         (void)w.add(RecordType::VmPci, pci(1));
         tail(w);
     }},
    {"fewer Vf records than Io counts",
     [](HandoverWriter& w) {
         (void)w.add(RecordType::OldImage, old_image());
         vm_records(w, 1);
         (void)w.add(RecordType::Io, io(2));
         (void)w.add(RecordType::Vf, vf(0x11, 1));
         (void)w.add(RecordType::VmPci, pci(1));
         tail(w);
     }},
    {"a VF owned by a VM the record does not hold",
     [](HandoverWriter& w) {
         (void)w.add(RecordType::OldImage, old_image());
         vm_records(w, 1);
         (void)w.add(RecordType::Io, io(1));
         (void)w.add(RecordType::Vf, vf(0x11, 3));
         (void)w.add(RecordType::VmPci, pci(1));
         tail(w);
     }},
    {"the same VF twice",
     [](HandoverWriter& w) {
         (void)w.add(RecordType::OldImage, old_image());
         vm_records(w, 1);
         (void)w.add(RecordType::Io, io(2));
         (void)w.add(RecordType::Vf, vf(0x11, 1));
         (void)w.add(RecordType::Vf, vf(0x11, 0));
         (void)w.add(RecordType::VmPci, pci(1));
         tail(w);
     }},
    {"an unknown VF flag",
     [](HandoverWriter& w) {
         (void)w.add(RecordType::OldImage, old_image());
         vm_records(w, 1);
         (void)w.add(RecordType::Io, io(1));
         VfRecord f = vf(0x11, 1);
         f.flags |= 2;
         (void)w.add(RecordType::Vf, f);
         (void)w.add(RecordType::VmPci, pci(1));
         tail(w);
     }},
    {"a VM without its VmPci while there is I/O state",
     [](HandoverWriter& w) {
         (void)w.add(RecordType::OldImage, old_image());
         vm_records(w, 1);
         vm_records(w, 2);
         (void)w.add(RecordType::Io, io(0));
         (void)w.add(RecordType::VmPci, pci(1));
         tail(w);
     }},
    {"a VmPci without an Io record",
     [](HandoverWriter& w) {
         (void)w.add(RecordType::OldImage, old_image());
         vm_records(w, 1);
         (void)w.add(RecordType::VmPci, pci(1));
         tail(w);
     }},
    {"two VmPci for one VM",
     [](HandoverWriter& w) {
         (void)w.add(RecordType::OldImage, old_image());
         vm_records(w, 1);
         (void)w.add(RecordType::Io, io(0));
         (void)w.add(RecordType::VmPci, pci(1));
         (void)w.add(RecordType::VmPci, pci(1));
         tail(w);
     }},
    {"two Io records",
     [](HandoverWriter& w) {
         (void)w.add(RecordType::OldImage, old_image());
         vm_records(w, 1);
         (void)w.add(RecordType::Io, io(0));
         (void)w.add(RecordType::Io, io(0));
         (void)w.add(RecordType::VmPci, pci(1));
         tail(w);
     }},
    {"a region smaller than its layout",
     [](HandoverWriter& w) {
         (void)w.add(RecordType::OldImage, old_image());
         vm_records(w, 1);
         IoRecord r = io(0);
         r.region_size = r.layout_bytes - 1;
         (void)w.add(RecordType::Io, r);
         (void)w.add(RecordType::VmPci, pci(1));
         tail(w);
     }},
    {"an MSI device with 9 events",
     [](HandoverWriter& w) {
         (void)w.add(RecordType::OldImage, old_image());
         vm_records(w, 1);
         IoRecord r = io(0);
         r.msi_map[1] = IoMsiDevice{0x13, 8195, 9, 0};
         (void)w.add(RecordType::Io, r);
         (void)w.add(RecordType::VmPci, pci(1));
         tail(w);
     }},
    {"an unused MSI slot that names a device",
     [](HandoverWriter& w) {
         (void)w.add(RecordType::OldImage, old_image());
         vm_records(w, 1);
         IoRecord r = io(0);
         r.msi_map[2] = IoMsiDevice{0x13, 0, 0, 0};
         (void)w.add(RecordType::Io, r);
         (void)w.add(RecordType::VmPci, pci(1));
         tail(w);
     }},
};

TEST(HandoverIo, EachRuleIsEnforced) {
    for (const Rule& r : kRules) {
        Buf b;
        HandoverView v;
        EXPECT_EQ(parse_written(r.write, v, b), Status::Corrupt) << r.name;
        EXPECT_EQ(v.io, nullptr) << r.name << ": a refusal leaves the view empty";
    }
}

} // namespace
} // namespace keel::update
