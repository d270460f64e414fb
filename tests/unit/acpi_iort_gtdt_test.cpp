// GTDT and IORT on the tables QEMU 7.2 generates (tests/data/acpi/, tools/acpi-dump):
//   virt-arm64.bin        virt,gic-version=3,virtualization=on -cpu max -smp 4 -m 1G
//   virt-arm64-smmu.bin   the same with iommu=smmuv3
// and the device trees QEMU generates for the same two machines (tests/data/qemu-virt-
// gicv3.dts, qemu-virt-smmu.dts): both paths must describe the same timers, SMMU and PCI
// requester-ID routing. Expected values come from the board (hw/arm/virt.c: the SMMU at
// 0x09050000 with SPIs 74-77 for eventq, priq, cmdq-sync, gerror; the Arm BSA timer PPIs)
// and from the IORT specification's layout (Arm DEN 0049) for the corrupted copies.
#include <gtest/gtest.h>

#include "arch/arm64/dtb_platform.hpp"
#include "tests/unit/acpi_dump.hpp"

namespace {

Platform from_dtb(const char* name) {
    Platform d;
    const Bytes dtb = load(std::string(KEEL_BUILD_DIR "/test-dtbs/") + name + ".dtb");
    EXPECT_EQ(arm64::dtb_read_platform(dtb.data(), d), Status::Ok) << name;
    return d;
}

void expect_same_io(const Platform& a, const Platform& d) {
    EXPECT_EQ(a.timers.phys, d.timers.phys);
    EXPECT_EQ(a.timers.virt, d.timers.virt);
    EXPECT_EQ(a.timers.hyp, d.timers.hyp);
    EXPECT_EQ(a.timers.secure_phys, d.timers.secure_phys);
    ASSERT_EQ(a.smmu_count, d.smmu_count);
    for (u32 i = 0; i < a.smmu_count; ++i) {
        EXPECT_EQ(a.smmus[i].base, d.smmus[i].base) << i;
        EXPECT_EQ(a.smmus[i].event_intid, d.smmus[i].event_intid) << i;
        EXPECT_EQ(a.smmus[i].gerror_intid, d.smmus[i].gerror_intid) << i;
    }
    ASSERT_EQ(a.pci_id_count, d.pci_id_count);
    for (u32 i = 0; i < a.pci_id_count; ++i) {
        EXPECT_EQ(a.pci_ids[i].rid_base, d.pci_ids[i].rid_base) << i;
        EXPECT_EQ(a.pci_ids[i].rid_count, d.pci_ids[i].rid_count) << i;
        EXPECT_EQ(a.pci_ids[i].smmu, d.pci_ids[i].smmu) << i;
        EXPECT_EQ(a.pci_ids[i].stream_base, d.pci_ids[i].stream_base) << i;
        EXPECT_EQ(a.pci_ids[i].its_mapped, d.pci_ids[i].its_mapped) << i;
        EXPECT_EQ(a.pci_ids[i].its_device_base, d.pci_ids[i].its_device_base) << i;
    }
}

// The IORT node at image offset `table + node_off` and its first ID mapping.
struct IortAt {
    usize table, len, smmu_node, rc_node;
};
IortAt iort_nodes(const Bytes& img) {
    const Located t = find(img, "IORT");
    IortAt at{t.off, t.len, 0, 0};
    usize off = t.off + get32(img, t.off + 40);
    for (u32 i = 0; i < get32(img, t.off + 36); ++i) {
        if (img[off] == 4) at.smmu_node = off;
        if (img[off] == 2) at.rc_node = off;
        off += static_cast<usize>(img[off + 1] | (img[off + 2] << 8));
    }
    return at;
}

Status read_changed(Bytes img, const IortAt& at, usize off, u32 value) {
    put32(img, off, value);
    fix_checksum(img, at.table, at.len, at.table + 9);
    Platform p;
    return read(img, acpi::Flavor::Arm64, p);
}

} // namespace

// Arm BSA PPIs: EL1 secure physical 29, non-secure physical 30, virtual 27, EL2 26.
TEST(AcpiIortGtdt, TimersFromBothPaths) {
    Platform a;
    ASSERT_EQ(read(tables("virt-arm64.bin"), acpi::Flavor::Arm64, a), Status::Ok);
    EXPECT_EQ(a.timers.secure_phys, 29u);
    EXPECT_EQ(a.timers.phys, 30u);
    EXPECT_EQ(a.timers.virt, 27u);
    EXPECT_EQ(a.timers.hyp, 26u);
    expect_same_io(a, from_dtb("qemu-virt-gicv3"));
}

// Without an SMMU, QEMU's IORT sends every requester ID straight to the ITS (device ID =
// requester ID), as the device tree's msi-map does.
TEST(AcpiIortGtdt, NoSmmuRidsGoToTheIts) {
    Platform a;
    ASSERT_EQ(read(tables("virt-arm64.bin"), acpi::Flavor::Arm64, a), Status::Ok);
    EXPECT_EQ(a.smmu_count, 0u);
    ASSERT_EQ(a.pci_id_count, 1u);
    EXPECT_EQ(a.pci_ids[0].rid_base, 0u);
    EXPECT_EQ(a.pci_ids[0].rid_count, 0x10000u);
    EXPECT_EQ(a.pci_ids[0].smmu, PciIdRange::kNoSmmu);
    EXPECT_TRUE(a.pci_ids[0].its_mapped);
    EXPECT_EQ(a.pci_ids[0].its_device_base, 0u);
    expect_same_io(a, from_dtb("qemu-virt-gicv3"));
}

// iommu=smmuv3: one SMMU at 0x09050000, eventq SPI 74 (INTID 106), gerror SPI 77 (109);
// requester IDs are its stream IDs, and its own mapping sends them on to the ITS.
// QEMU builds the IORT from the buses enumerated so far: in this dump (no firmware ran)
// only bus 0 sits behind the SMMU and buses 1-255 go straight to the ITS, where its device
// tree routes every bus through the SMMU; so the two agree on bus 0 and on the ITS device
// ID of every requester ID. The dump's bus-0 range is also one ID too long (an ID count
// written where the specification wants count - 1), which the reader trims.
TEST(AcpiIortGtdt, SmmuFromBothPaths) {
    Platform a;
    const char* where = nullptr;
    ASSERT_EQ(read(tables("virt-arm64-smmu.bin"), acpi::Flavor::Arm64, a, &where), Status::Ok)
        << where;
    ASSERT_EQ(a.smmu_count, 1u);
    EXPECT_EQ(a.smmus[0].base, 0x09050000u);
    EXPECT_EQ(a.smmus[0].event_intid, 106u);
    EXPECT_EQ(a.smmus[0].gerror_intid, 109u);
    ASSERT_EQ(a.pci_id_count, 2u);
    EXPECT_EQ(a.pci_ids[0].rid_count, 0x100u) << "bus 0 exactly";
    EXPECT_EQ(a.pci_ids[1].rid_base, 0x100u);
    const Platform d = from_dtb("qemu-virt-smmu");
    ASSERT_EQ(d.smmu_count, 1u);
    EXPECT_EQ(d.smmus[0].base, a.smmus[0].base);
    EXPECT_EQ(d.smmus[0].event_intid, a.smmus[0].event_intid);
    EXPECT_EQ(d.smmus[0].gerror_intid, a.smmus[0].gerror_intid);
    for (u32 rid = 0; rid < 0x10000; ++rid) {
        const PciIdRange* ra = a.pci_route(rid);
        const PciIdRange* rd = d.pci_route(rid);
        ASSERT_TRUE(ra != nullptr && rd != nullptr) << rid;
        ASSERT_TRUE(ra->its_mapped && rd->its_mapped) << rid;
        ASSERT_EQ(ra->its_device_base + (rid - ra->rid_base), rid) << "device ID = RID";
        ASSERT_EQ(rd->its_device_base + (rid - rd->rid_base), rid) << "device ID = RID";
        ASSERT_EQ(rd->smmu, 0u) << rid;
        ASSERT_EQ(rd->stream_base + (rid - rd->rid_base), rid) << "stream ID = RID";
        if (rid < 0x100) {
            ASSERT_EQ(ra->smmu, 0u) << rid;
            ASSERT_EQ(ra->stream_base + (rid - ra->rid_base), rid) << "stream ID = RID";
        } else {
            ASSERT_EQ(ra->smmu, PciIdRange::kNoSmmu) << rid;
        }
    }
    EXPECT_EQ(a.timers.virt, d.timers.virt);
}

// Corrupted IORTs (checksum repaired so the reader sees the change): refused with the
// reason, never read outside the table (ASan).
TEST(AcpiIortGtdt, IortDefectsAreRefused) {
    const Bytes img = tables("virt-arm64-smmu.bin");
    const IortAt at = iort_nodes(img);
    ASSERT_NE(at.smmu_node, 0u);
    ASSERT_NE(at.rc_node, 0u);
    const usize rc_map = at.rc_node + get32(img, at.rc_node + 12);
    // The root complex's mapping aimed at an offset that is no node, past the table, and
    // at the table header.
    EXPECT_EQ(read_changed(img, at, rc_map + 12, get32(img, rc_map + 12) + 4), Status::Corrupt);
    EXPECT_EQ(read_changed(img, at, rc_map + 12, 0x100000), Status::Corrupt);
    EXPECT_EQ(read_changed(img, at, rc_map + 12, 0), Status::Corrupt);
    // Its ID array past its node, and a count of arrays that cannot fit.
    EXPECT_EQ(read_changed(img, at, at.rc_node + 12, 0xfff0), Status::Corrupt);
    EXPECT_EQ(read_changed(img, at, at.rc_node + 8, 0x10000000), Status::Corrupt);
    // An ID range that wraps the 32-bit ID space.
    EXPECT_EQ(read_changed(img, at, rc_map + 8, 0xfffffff0), Status::Corrupt);
    // Two ranges sharing more than the one ID firmware gets wrong: ambiguous.
    const usize rc_map2 = rc_map + 20;
    EXPECT_EQ(read_changed(img, at, rc_map2, 0x80), Status::Corrupt);
    // More nodes than the table holds.
    EXPECT_EQ(read_changed(img, at, at.table + 36, 1000), Status::Corrupt);
    // An SMMU without a base address.
    EXPECT_EQ(read_changed(img, at, at.smmu_node + 16, 0), Status::Corrupt);
}

// A GTDT whose timers are not per-CPU interrupts (an SPI, or none) is refused: Keel
// forwards the guest's timers as PPIs.
TEST(AcpiIortGtdt, GtdtTimersMustBePpis) {
    const Bytes img = tables("virt-arm64.bin");
    const Located g = find(img, "GTDT");
    for (usize field : {usize{56}, usize{64}, usize{72}})
        for (u32 v : {0u, 15u, 32u, 106u}) {
            Bytes bad = img;
            put32(bad, g.off + field, v);
            fix_checksum(bad, g.off, g.len, g.off + 9);
            Platform p;
            EXPECT_EQ(read(bad, acpi::Flavor::Arm64, p), Status::Corrupt) << field << " " << v;
        }
    Bytes cut = img;
    put32(cut, g.off + 4, 60); // shorter than the EL2 timer's fields
    fix_checksum(cut, g.off, 60, g.off + 9);
    Platform p;
    EXPECT_EQ(read(cut, acpi::Flavor::Arm64, p), Status::Truncated);
}
