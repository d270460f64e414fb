// The ACPI tables an x86 Linux VM gets (arch/x86_64/guest_acpi.*), read back by the shared
// ACPI reader (hypervisor/acpi/, itself tested on QEMU's own tables) and checked field by
// field against ACPI 6.5: FADT offsets from table 5.9, MADT entries from 5.2.12, the RSDP's
// two checksums from 5.2.5.3, and the \_S5 AML bytes from 20.2.5. The tables with PCI:
// x86_guest_acpi_pci_test.cpp.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "arch/x86_64/guest_acpi.hpp"
#include "hypervisor/acpi/platform_acpi.hpp"
#include "tests/unit/x86_guest_acpi.hpp"

using namespace keel;
using namespace keel::x86;
using namespace keel::x86::acpi_test;

TEST(X86GuestAcpi, TheSharedReaderSeesTheVmsCpusAndIoApic) {
    const u32 ids[] = {0, 1, 2, 3};
    Built b = build(4, ids);
    ASSERT_GT(b.used, 0u);
    Platform p;
    const char* where = nullptr;
    ASSERT_EQ(
        acpi::read_platform(kGpa, acpi::PhysReader{&Built::map, &b}, acpi::Flavor::X86, p, &where),
        Status::Ok)
        << where;
    ASSERT_EQ(p.cpu_count, 4u);
    for (u32 i = 0; i < 4; ++i) {
        EXPECT_EQ(p.cpus[i].hw_id, ids[i]);
        EXPECT_TRUE(p.cpus[i].enabled);
    }
    EXPECT_EQ(p.irq_kind, IrqControllerKind::Apic);
    EXPECT_EQ(p.irq_dist_base, 0xfec00000u);   // the I/O APIC
    EXPECT_EQ(p.irq_redist_base, 0xfee00000u); // the local APIC
}

TEST(X86GuestAcpi, ChecksumsAndRsdp) {
    const u32 ids[] = {0};
    Built b = build(1, ids);
    const u8* r = b.at(kGpa);
    EXPECT_EQ(memcmp(r, "RSD PTR ", 8), 0);
    EXPECT_EQ(r[15], 2);         // revision 2: XSDT
    EXPECT_EQ(sum(r, 20), 0);    // ACPI 1.0 checksum
    EXPECT_EQ(g32(r + 20), 36u); // length
    EXPECT_EQ(sum(r, 36), 0);    // extended checksum
    for (const char* sig : {"FACP", "APIC"}) {
        const u8* t = table(b, sig);
        ASSERT_NE(t, nullptr) << sig;
        EXPECT_EQ(sum(t, g32(t + 4)), 0) << sig;
    }
    const u8* x = b.at(g64(r + 24));
    EXPECT_EQ(sum(x, g32(x + 4)), 0);
}

TEST(X86GuestAcpi, HardwareReducedFadtWithSleepAndResetRegisters) {
    const u32 ids[] = {0, 1};
    Built b = build(2, ids);
    const u8* f = table(b, "FACP");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(g32(f + 4), 276u); // the revision-6 FADT's length
    EXPECT_EQ(f[8], 6);
    const u32 flags = g32(f + 112);
    EXPECT_TRUE(flags & (1u << 20)) << "HW_REDUCED_ACPI";
    EXPECT_TRUE(flags & (1u << 10)) << "RESET_REG_SUP";
    // No fixed-hardware blocks: PM1a event/control, PM timer, GPE0 (32-bit and X_ forms).
    for (usize off : {usize{56}, usize{64}, usize{76}, usize{80}})
        EXPECT_EQ(g32(f + off), 0u) << off;
    EXPECT_EQ(f[46] | f[47], 0) << "no SCI";
    // RESET_REG (GAS at 116): system I/O, 8 bits, port 0x602; RESET_VALUE at 128.
    EXPECT_EQ(f[116], 1);
    EXPECT_EQ(f[117], 8);
    EXPECT_EQ(g64(f + 120), 0x602u);
    EXPECT_EQ(f[128], 1);
    // SLEEP_CONTROL_REG at 244, SLEEP_STATUS_REG at 256.
    EXPECT_EQ(f[244], 1);
    EXPECT_EQ(g64(f + 248), 0x600u);
    EXPECT_EQ(f[256], 1);
    EXPECT_EQ(g64(f + 260), 0x601u);
    // X_DSDT (140) and DSDT (40) name the same table, holding \_S5 = {5, 0}.
    const u64 dsdt = g64(f + 140);
    EXPECT_EQ(g32(f + 40), dsdt);
    const u8* d = b.at(dsdt);
    EXPECT_EQ(memcmp(d, "DSDT", 4), 0);
    EXPECT_EQ(sum(d, g32(d + 4)), 0);
    const u8 s5[] = {0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a, 0x05, 0x00};
    EXPECT_EQ(memcmp(d + 36, s5, sizeof s5), 0);
}

TEST(X86GuestAcpi, DsdtDescribesCom1WithIrq4) {
    const u32 ids[] = {0};
    Built b = build(1, ids);
    const u8* f = table(b, "FACP");
    ASSERT_NE(f, nullptr);
    const u8* d = b.at(g64(f + 140));
    const usize len = g32(d + 4);
    ASSERT_GT(len, 36u + 11);
    const u8* aml = d + 36 + 11; // after \_S5
    // Scope (\_SB): ScopeOp 0x10, PkgLength, "_SB_" (20.2.5.1).
    EXPECT_EQ(aml[0], 0x10);
    EXPECT_EQ(1u + aml[1], len - 36 - 11) << "the scope runs to the end of the DSDT";
    EXPECT_EQ(memcmp(aml + 2, "_SB_", 4), 0);
    // Device (COM1): ExtOpPrefix 0x5B, DeviceOp 0x82, PkgLength, name.
    EXPECT_EQ(aml[6], 0x5b);
    EXPECT_EQ(aml[7], 0x82);
    EXPECT_EQ(memcmp(aml + 9, "COM1", 4), 0);
    // Name (_HID, DWordConst EisaId ("PNP0501")).
    const char name[] = "_HID";
    const u8* hid = std::search(aml, aml + (len - 47), name, name + 4);
    ASSERT_NE(hid, aml + (len - 47));
    EXPECT_EQ(hid[4], 0x0c); // DWordPrefix
    EXPECT_EQ(g32(hid + 5), eisa_id("PNP0501"));
    // _CRS: an I/O port descriptor (6.4.2.5: 0x47, 16-bit decode, min = max = 0x3f8,
    // alignment 1, length 8) and an IRQ descriptor without flags (6.4.2.1: 0x22, mask with
    // bit 4), then the end tag (0x79).
    const u8 io[] = {0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08};
    const u8 irq[] = {0x22, 1u << 4, 0x00, 0x79};
    const u8* end = d + len;
    const u8* at = std::search(aml, end, io, io + sizeof io);
    ASSERT_NE(at, end);
    EXPECT_EQ(memcmp(at + sizeof io, irq, sizeof irq), 0);
}

TEST(X86GuestAcpi, PmTimerWhenAsked) {
    const u32 ids[] = {0};
    Built b = build(1, ids, 0x608);
    const u8* f = table(b, "FACP");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(sum(f, g32(f + 4)), 0);
    // PM_TMR_BLK (76), PM_TMR_LEN (91) = 4, X_PM_TMR_BLK (GAS at 208: system I/O, 32 bits,
    // dword access), TMR_VAL_EXT (flag 8: a 32-bit counter) (ACPI 6.5 table 5.9).
    EXPECT_EQ(g32(f + 76), 0x608u);
    EXPECT_EQ(f[91], 4);
    EXPECT_EQ(f[208], 1);
    EXPECT_EQ(f[209], 32);
    EXPECT_EQ(f[211], 3);
    EXPECT_EQ(g64(f + 212), 0x608u);
    EXPECT_TRUE(g32(f + 112) & (1u << 8));
    EXPECT_TRUE(g32(f + 112) & (1u << 20)) << "still hardware-reduced";
}

TEST(X86GuestAcpi, LargeApicIdsGetX2ApicEntries) {
    const u32 ids[] = {0, 300};
    Built b = build(2, ids);
    const u8* m = table(b, "APIC");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(g32(m + 40) & 1, 0u) << "PCAT_COMPAT: no 8259";
    EXPECT_EQ(m[44], 0);     // Processor Local APIC
    EXPECT_EQ(m[44 + 8], 9); // Processor Local x2APIC
    EXPECT_EQ(g32(m + 44 + 8 + 4), 300u);
    EXPECT_EQ(m[44 + 8 + 16], 1); // then the I/O APIC
    Platform p;
    ASSERT_EQ(acpi::read_platform(kGpa, acpi::PhysReader{&Built::map, &b}, acpi::Flavor::X86, p),
              Status::Ok);
    ASSERT_EQ(p.cpu_count, 2u);
    EXPECT_EQ(p.cpus[1].hw_id, 300u);
}

TEST(X86GuestAcpi, RefusesWhatDoesNotFit) {
    const u32 ids[65] = {};
    std::vector<u8> small(600, 0); // the MADT starts at 640
    GuestAcpiConfig c{1, ids, 0xfec00000, 0, 0x600, 0x601, 0x602, 1, 0};
    EXPECT_EQ(build_guest_acpi(small.data(), small.size(), kGpa, c), 0u);
    std::vector<u8> big(0x10000, 0);
    c.cpus = 0;
    EXPECT_EQ(build_guest_acpi(big.data(), big.size(), kGpa, c), 0u);
    c.cpus = 65;
    EXPECT_EQ(build_guest_acpi(big.data(), big.size(), kGpa, c), 0u);
}
