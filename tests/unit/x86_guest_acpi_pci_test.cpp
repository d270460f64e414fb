// The ACPI tables of an x86 Linux VM with assigned PCIe functions (arch/x86_64/guest_acpi.*):
// the MCFG from the PCI Firmware Specification (4.1.2), and the DSDT's host bridge walked as
// AML (ACPI 6.5 20.2.4 PkgLength, 20.2.5 objects) with its resource templates decoded from
// 6.4; without PCI, the tables as they were before.

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

namespace {

// The PCI configuration of the tests: ECAM at 0xb0000000 for buses 0..4, BARs in 4 MiB
// at 0xc0000000.
constexpr u64 kEcam = 0xb0000000;
constexpr u32 kWindow = 0xc0000000, kWindowSize = 4u << 20;

GuestAcpiConfig pci_config(u32 cpus, const u32* ids) {
    GuestAcpiConfig c{cpus, ids, 0xfec00000, 0, 0x600, 0x601, 0x602, 1, 0x608};
    c.ecam_base = kEcam;
    c.ecam_last_bus = 4;
    c.pci_window = kWindow;
    c.pci_window_size = kWindowSize;
    return c;
}

Built build_pci(const GuestAcpiConfig& c) {
    Built b;
    b.used = build_guest_acpi(b.mem.data(), b.mem.size(), kGpa, c);
    return b;
}

u16 g16(const u8* p) { return static_cast<u16>(p[0] | (p[1] << 8)); }

// 20.2.4 PkgLength: bits 7..6 of the lead byte count the bytes that follow; alone, its bits
// 5..0 are the length, else its bits 3..0 are the low nibble and each following byte 8 more
// bits. The length counts the PkgLength itself.
struct PkgLength {
    usize value, bytes;
};
PkgLength pkg_length(const u8* p) {
    const usize follow = p[0] >> 6;
    if (follow == 0) return {usize(p[0] & 0x3f), 1};
    usize v = p[0] & 0x0f;
    for (usize i = 0; i < follow; ++i)
        v |= usize(p[1 + i]) << (4 + 8 * i);
    return {v, 1 + follow};
}

// One AML object of the few kinds the DSDT holds (20.2.5): NameOp 08 with its data,
// ScopeOp 10, MethodOp 14, DeviceOp 5B 82. `body` .. `end`: a Name's data object, a
// method's flags and terms, a scope's or device's objects.
struct Obj {
    u8 op;
    std::string name;
    const u8* body;
    const u8* end;
};

// The objects that tile [p, end) exactly: each package's PkgLength must cover its contents
// and the last object must end at `end`.
std::vector<Obj> objects(const u8* p, const u8* end) {
    std::vector<Obj> out;
    auto seg = [](const u8* s) { return std::string(reinterpret_cast<const char*>(s), 4); };
    while (p < end) {
        Obj o{};
        if (p[0] == 0x08) { // NameOp NameSeg DataObject
            o = {0x08, seg(p + 1), p + 5, nullptr};
            const u8* d = p + 5;
            switch (d[0]) {
            case 0x00: // ZeroOp
            case 0x01: // OneOp
                o.end = d + 1;
                break;
            case 0x0a: // BytePrefix
                o.end = d + 2;
                break;
            case 0x0b: // WordPrefix
                o.end = d + 3;
                break;
            case 0x0c: // DWordPrefix
                o.end = d + 5;
                break;
            case 0x11: // BufferOp PkgLength ...
            case 0x12: // PackageOp PkgLength ...
                o.end = d + 1 + pkg_length(d + 1).value;
                break;
            default: ADD_FAILURE() << "data object " << int(d[0]) << " in " << o.name; return {};
            }
        } else if (p[0] == 0x10 || p[0] == 0x14 || (p[0] == 0x5b && p[1] == 0x82)) {
            const usize opl = p[0] == 0x5b ? 2 : 1;
            const PkgLength l = pkg_length(p + opl);
            const u8* n = p + opl + l.bytes;
            const usize root = n[0] == '\\' ? 1 : 0;
            o = {p[opl - 1], std::string(root, '\\') + seg(n + root), n + root + 4,
                 p + opl + l.value};
        } else {
            ADD_FAILURE() << "opcode " << int(p[0]);
            return {};
        }
        if (o.end > end || o.body > o.end) {
            ADD_FAILURE() << o.name << " runs past its container";
            return {};
        }
        out.push_back(o);
        p = o.end;
    }
    return out;
}

const Obj* find(const std::vector<Obj>& v, const char* name) {
    for (const Obj& o : v)
        if (o.name == name) return &o;
    return nullptr;
}

// A resource template's descriptors (6.4.1): large ones (bit 7) have a type byte and a
// 16-bit length, small ones their type in bits 6..3 and length in bits 2..0. Each one's
// bytes, its header included.
std::vector<std::vector<u8>> descriptors(const u8* p, const u8* end) {
    std::vector<std::vector<u8>> out;
    while (p < end) {
        const usize n = (p[0] & 0x80) ? 3 + usize{g16(p + 1)} : 1 + usize(p[0] & 7);
        if (p + n > end) {
            ADD_FAILURE() << "descriptor " << int(p[0]) << " runs past the buffer";
            return {};
        }
        out.emplace_back(p, p + n);
        p += n;
    }
    return out;
}

// Name (_CRS, Buffer (n) { ... }): BufferOp 11, PkgLength, BufferSize as BytePrefix n, then
// exactly n bytes, ending with the end tag 79 00.
std::vector<std::vector<u8>> crs(const Obj& name) {
    const u8* b = name.body;
    if (b[0] != 0x11) {
        ADD_FAILURE() << "not a buffer";
        return {};
    }
    const PkgLength l = pkg_length(b + 1);
    const u8* size = b + 1 + l.bytes;
    EXPECT_EQ(size[0], 0x0a) << "BytePrefix";
    EXPECT_EQ(size + 2 + size[1], name.end) << "the buffer's size fills its package";
    EXPECT_GE(size[1], 2);
    const u8 end_tag[] = {0x79, 0x00};
    EXPECT_EQ(memcmp(name.end - 2, end_tag, 2), 0);
    return descriptors(size + 2, name.end);
}

// The DSDT's objects, after checking its header.
std::vector<Obj> dsdt_objects(const Built& b, const u8** dsdt = nullptr) {
    const u8* f = table(b, "FACP");
    if (f == nullptr) {
        ADD_FAILURE() << "no FADT";
        return {};
    }
    EXPECT_EQ(u64(g32(f + 40)), g64(f + 140));
    const u8* d = b.at(g64(f + 140));
    EXPECT_EQ(memcmp(d, "DSDT", 4), 0);
    const u32 len = g32(d + 4);
    EXPECT_EQ(sum(d, len), 0);
    EXPECT_LE(g64(f + 140) + len, kGpa + b.used) << "inside what the builder reports";
    if (dsdt != nullptr) *dsdt = d;
    return objects(d + 36, d + len);
}

} // namespace

TEST(X86GuestAcpiPci, XsdtListsMcfgAfterFadtAndMadt) {
    const u32 ids[] = {0, 1};
    Built b = build_pci(pci_config(2, ids));
    ASSERT_GT(b.used, 0u);
    const u8* x = b.at(g64(b.at(kGpa) + 24));
    ASSERT_EQ(g32(x + 4), 36u + 3 * 8);
    EXPECT_EQ(sum(x, g32(x + 4)), 0);
    const char* sigs[] = {"FACP", "APIC", "MCFG"};
    for (u32 i = 0; i < 3; ++i) {
        const u64 pa = g64(x + 36 + 8 * i);
        ASSERT_GE(pa, kGpa);
        ASSERT_LE(pa + 36, kGpa + b.used);
        EXPECT_EQ(memcmp(b.at(pa), sigs[i], 4), 0) << i;
        EXPECT_EQ(sum(b.at(pa), g32(b.at(pa) + 4)), 0) << sigs[i];
        EXPECT_LE(pa + g32(b.at(pa) + 4), kGpa + b.used) << sigs[i];
    }
    // The tables do not overlap.
    std::vector<std::pair<u64, u64>> spans = {{kGpa, kGpa + 36}, {g64(b.at(kGpa) + 24), 0}};
    spans[1].second = spans[1].first + g32(x + 4);
    for (u32 i = 0; i < 3; ++i) {
        const u64 pa = g64(x + 36 + 8 * i);
        spans.push_back({pa, pa + g32(b.at(pa) + 4)});
    }
    const u8* f = table(b, "FACP");
    spans.push_back({g64(f + 140), g64(f + 140) + g32(b.at(g64(f + 140)) + 4)});
    std::sort(spans.begin(), spans.end());
    for (usize i = 1; i < spans.size(); ++i)
        EXPECT_LE(spans[i - 1].second, spans[i].first) << i;
}

TEST(X86GuestAcpiPci, McfgHasOneEcamAllocation) {
    const u32 ids[] = {0};
    Built b = build_pci(pci_config(1, ids));
    const u8* m = table(b, "MCFG");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(g32(m + 4), 60u); // header, 8 reserved bytes, one 16-byte allocation
    EXPECT_EQ(m[8], 1);         // revision
    EXPECT_EQ(sum(m, 60), 0);
    EXPECT_EQ(g64(m + 36), 0u) << "reserved";
    EXPECT_EQ(g64(m + 44), kEcam); // base address of bus 0
    EXPECT_EQ(g16(m + 52), 0);     // segment group
    EXPECT_EQ(m[54], 0);           // start bus
    EXPECT_EQ(m[55], 4);           // end bus
    EXPECT_EQ(g32(m + 56), 0u) << "reserved";
    // The shared reader, as Keel reads a host's MCFG.
    Platform p;
    ASSERT_EQ(acpi::read_platform(kGpa, acpi::PhysReader{&Built::map, &b}, acpi::Flavor::X86, p),
              Status::Ok);
    EXPECT_EQ(p.ecam_base, kEcam);
    EXPECT_EQ(p.ecam_size, 5u << 20);
    EXPECT_EQ(p.pci_bus_end, 4u);
    EXPECT_EQ(p.cpu_count, 1u);
}

TEST(X86GuestAcpiPci, DsdtKeepsS5AndCom1ThenAddsTheHostBridge) {
    const u32 ids[] = {0};
    Built b = build_pci(pci_config(1, ids));
    const u8* d = nullptr;
    const std::vector<Obj> top = dsdt_objects(b, &d);
    ASSERT_EQ(top.size(), 3u);
    const u8 s5[] = {0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a, 0x05, 0x00};
    EXPECT_EQ(memcmp(d + 36, s5, sizeof s5), 0);
    EXPECT_EQ(top[1].op, 0x10);
    EXPECT_EQ(top[1].name, "_SB_");
    EXPECT_EQ(top[1].end - d, 36 + 11 + 51) << "COM1's scope as without PCI";
    EXPECT_EQ(top[2].op, 0x10);
    EXPECT_EQ(top[2].name, "_SB_");
    EXPECT_EQ(top[2].end, d + g32(d + 4)) << "the PCI scope ends the DSDT";
    EXPECT_EQ(g32(d + 4), 36u + 11 + 51 + 161);
    const std::vector<Obj> sb = objects(top[2].body, top[2].end);
    ASSERT_EQ(sb.size(), 2u);
    EXPECT_EQ(sb[0].op, 0x82); // DeviceOp (after ExtOpPrefix)
    EXPECT_EQ(sb[0].name, "PCI0");
    EXPECT_EQ(sb[1].op, 0x82);
    EXPECT_EQ(sb[1].name, "MRES");
    // PCI0 is over 63 bytes: its PkgLength takes two bytes, lead byte 0x4N (20.2.4).
    EXPECT_EQ(sb[0].body[-6] >> 6, 1);
}

TEST(X86GuestAcpiPci, Pci0IsAPciExpressRootBridgeWithBusesAndAWindow) {
    const u32 ids[] = {0};
    Built b = build_pci(pci_config(1, ids));
    const std::vector<Obj> top = dsdt_objects(b);
    ASSERT_EQ(top.size(), 3u);
    const std::vector<Obj> sb = objects(top[2].body, top[2].end);
    const Obj* pci0 = find(sb, "PCI0");
    ASSERT_NE(pci0, nullptr);
    const std::vector<Obj> in = objects(pci0->body, pci0->end);
    ASSERT_EQ(in.size(), 7u);
    const char* names[] = {"_HID", "_CID", "_SEG", "_BBN", "_UID", "_CRS", "_OSC"};
    for (usize i = 0; i < 7; ++i)
        EXPECT_EQ(in[i].name, names[i]);
    // _HID and _CID: DWordConst EisaIds.
    const Obj* hid = find(in, "_HID");
    ASSERT_EQ(hid->end - hid->body, 5);
    EXPECT_EQ(hid->body[0], 0x0c);
    EXPECT_EQ(g32(hid->body + 1), eisa_id("PNP0A08"));
    const u8 pnp0a08[] = {0x41, 0xd0, 0x0a, 0x08};
    EXPECT_EQ(memcmp(hid->body + 1, pnp0a08, 4), 0);
    const Obj* cid = find(in, "_CID");
    ASSERT_EQ(cid->end - cid->body, 5);
    EXPECT_EQ(cid->body[0], 0x0c);
    EXPECT_EQ(g32(cid->body + 1), eisa_id("PNP0A03"));
    // _SEG, _BBN, _UID: ZeroOp.
    for (const char* n : {"_SEG", "_BBN", "_UID"}) {
        const Obj* o = find(in, n);
        ASSERT_EQ(o->end - o->body, 1) << n;
        EXPECT_EQ(o->body[0], 0x00) << n;
    }
    // _CRS: WordBusNumber, DWordMemory, end tag.
    const std::vector<std::vector<u8>> r = crs(*find(in, "_CRS"));
    ASSERT_EQ(r.size(), 3u);
    // 6.4.3.5.3 Word Address Space Descriptor: 0x88, length 13; type 2 (bus number range);
    // general flags: bit 0 clear (producer), bit 1 clear (positive decode), bit 2 (_MIF
    // fixed), bit 3 (_MAF fixed); no type-specific flags; granularity 0, min 0, max 4,
    // translation 0, length 5.
    const std::vector<u8>& bus = r[0];
    ASSERT_EQ(bus.size(), 16u);
    EXPECT_EQ(bus[0], 0x88);
    EXPECT_EQ(g16(&bus[1]), 13);
    EXPECT_EQ(bus[3], 2);
    EXPECT_EQ(bus[4], (1 << 2) | (1 << 3));
    EXPECT_EQ(bus[5], 0);
    EXPECT_EQ(g16(&bus[6]), 0);
    EXPECT_EQ(g16(&bus[8]), 0);
    EXPECT_EQ(g16(&bus[10]), 4);
    EXPECT_EQ(g16(&bus[12]), 0);
    EXPECT_EQ(g16(&bus[14]), 5);
    // 6.4.3.5.2 DWord Address Space Descriptor: 0x87, length 23; type 0 (memory); the same
    // general flags; memory flags (6.4.3.5.4): bit 0 read-write, _MEM 0 (non-cacheable),
    // _MTP 0 (AddressRangeMemory), _TTP 0; granularity 0, min, max, translation 0, length.
    const std::vector<u8>& mem = r[1];
    ASSERT_EQ(mem.size(), 26u);
    EXPECT_EQ(mem[0], 0x87);
    EXPECT_EQ(g16(&mem[1]), 23);
    EXPECT_EQ(mem[3], 0);
    EXPECT_EQ(mem[4], (1 << 2) | (1 << 3));
    EXPECT_EQ(mem[5], 1);
    EXPECT_EQ(g32(&mem[6]), 0u);
    EXPECT_EQ(g32(&mem[10]), 0xc0000000u);
    EXPECT_EQ(g32(&mem[14]), 0xc03fffffu);
    EXPECT_EQ(g32(&mem[18]), 0u);
    EXPECT_EQ(g32(&mem[22]), 0x00400000u);
    EXPECT_EQ(r[2], (std::vector<u8>{0x79, 0x00}));
    // Method (_OSC, 4, NotSerialized) { Return (Arg3) }: MethodFlags 4 (4 arguments, not
    // serialized, sync level 0), ReturnOp A4, Arg3Op 6B, and nothing else.
    const Obj* osc = find(in, "_OSC");
    EXPECT_EQ(osc->op, 0x14);
    const u8 body[] = {0x04, 0xa4, 0x6b};
    ASSERT_EQ(osc->end - osc->body, 3);
    EXPECT_EQ(memcmp(osc->body, body, 3), 0);
}

TEST(X86GuestAcpiPci, MotherboardResourcesReserveTheEcamWindow) {
    const u32 ids[] = {0};
    Built b = build_pci(pci_config(1, ids));
    const std::vector<Obj> top = dsdt_objects(b);
    ASSERT_EQ(top.size(), 3u);
    const std::vector<Obj> sb = objects(top[2].body, top[2].end);
    const Obj* mres = find(sb, "MRES");
    ASSERT_NE(mres, nullptr);
    const std::vector<Obj> in = objects(mres->body, mres->end);
    ASSERT_EQ(in.size(), 3u);
    EXPECT_EQ(in[0].name, "_HID");
    EXPECT_EQ(in[0].body[0], 0x0c);
    EXPECT_EQ(g32(in[0].body + 1), eisa_id("PNP0C02"));
    EXPECT_EQ(in[1].name, "_UID");
    ASSERT_EQ(in[1].end - in[1].body, 1);
    EXPECT_EQ(in[1].body[0], 0x01); // OneOp
    ASSERT_EQ(in[2].name, "_CRS");
    const std::vector<std::vector<u8>> r = crs(in[2]);
    ASSERT_EQ(r.size(), 2u);
    // 6.4.3.4 32-Bit Fixed Memory Range Descriptor: 0x86, length 9, bit 0 read-write, base,
    // length: buses 0..4 at 1 MiB each.
    const std::vector<u8>& m = r[0];
    ASSERT_EQ(m.size(), 12u);
    EXPECT_EQ(m[0], 0x86);
    EXPECT_EQ(g16(&m[1]), 9);
    EXPECT_EQ(m[3], 1);
    EXPECT_EQ(g32(&m[4]), 0xb0000000u);
    EXPECT_EQ(g32(&m[8]), 5u << 20);
}

TEST(X86GuestAcpiPci, AllBusesAndWindowsUpTo4GiB) {
    const u32 ids[] = {0};
    GuestAcpiConfig c = pci_config(1, ids);
    c.ecam_base = 0xf0000000;
    c.ecam_last_bus = 0xff; // 256 MiB, to the 4 GiB line
    c.pci_window = 0xe0000000;
    c.pci_window_size = 0x10000000;
    Built b = build_pci(c);
    ASSERT_GT(b.used, 0u);
    EXPECT_EQ(table(b, "MCFG")[55], 0xff);
    const std::vector<Obj> top = dsdt_objects(b);
    ASSERT_EQ(top.size(), 3u);
    const std::vector<Obj> sb = objects(top[2].body, top[2].end);
    ASSERT_EQ(sb.size(), 2u);
    const std::vector<Obj> pci0 = objects(sb[0].body, sb[0].end);
    const std::vector<std::vector<u8>> r = crs(*find(pci0, "_CRS"));
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(g16(&r[0][10]), 0xff); // max bus
    EXPECT_EQ(g16(&r[0][14]), 256);  // bus count
    EXPECT_EQ(g32(&r[1][14]), 0xefffffffu);
    const std::vector<Obj> mres = objects(sb[1].body, sb[1].end);
    const std::vector<std::vector<u8>> m = crs(*find(mres, "_CRS"));
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(g32(&m[0][4]), 0xf0000000u);
    EXPECT_EQ(g32(&m[0][8]), 0x10000000u);
}

TEST(X86GuestAcpiPci, RefusesWhatTheTablesCannotSay) {
    const u32 ids[] = {0};
    std::vector<u8> big(0x10000, 0);
    auto built = [&](const GuestAcpiConfig& c) {
        return build_guest_acpi(big.data(), big.size(), kGpa, c);
    };
    GuestAcpiConfig c = pci_config(1, ids);
    c.pci_window_size = 0;
    EXPECT_EQ(built(c), 0u) << "no MMIO window";
    c = pci_config(1, ids);
    c.pci_window = 0xffe00000; // 4 MiB from here passes 4 GiB
    EXPECT_EQ(built(c), 0u);
    c.pci_window = 0xffc00000; // ends at 4 GiB
    EXPECT_GT(built(c), 0u);
    c = pci_config(1, ids);
    c.ecam_base = 0xf0100000;
    c.ecam_last_bus = 0xff; // 256 MiB from here passes 4 GiB
    EXPECT_EQ(built(c), 0u);
    c.ecam_base = 0x100000000; // Memory32Fixed cannot say it
    c.ecam_last_bus = 0;
    EXPECT_EQ(built(c), 0u);
    // Too small a buffer, by one byte.
    c = pci_config(1, ids);
    const usize used = built(c);
    ASSERT_GT(used, 0u);
    std::vector<u8> exact(used, 0);
    EXPECT_EQ(build_guest_acpi(exact.data(), used, kGpa, c), used);
    EXPECT_EQ(build_guest_acpi(exact.data(), used - 1, kGpa, c), 0u);
}

// The hypervisor builds a Linux VM's tables in a 4 KiB buffer (arch/x86_64/virt/linux_vm.cpp):
// with PCI they fit in half of it for the most vCPUs, all with x2APIC entries.
TEST(X86GuestAcpiPci, FitTheHypervisorsBufferWithTheMostCpus) {
    u32 ids[kMaxGuestCpus];
    for (u32 i = 0; i < kMaxGuestCpus; ++i)
        ids[i] = 255 + i;
    Built b = build_pci(pci_config(kMaxGuestCpus, ids));
    ASSERT_GT(b.used, 0u);
    EXPECT_LE(b.used, 2048u);
    Platform p;
    ASSERT_EQ(acpi::read_platform(kGpa, acpi::PhysReader{&Built::map, &b}, acpi::Flavor::X86, p),
              Status::Ok);
    EXPECT_EQ(p.cpu_count, kMaxGuestCpus);
    EXPECT_EQ(p.ecam_base, kEcam);
}

// Without PCI (ecam_base 0) the tables are the ones the builder wrote before PCI existed:
// no MCFG, no PCI0 or MRES, the DSDT at its old place, and the same bytes (an FNV-1a hash of
// the output of the pre-PCI builder for this configuration).
TEST(X86GuestAcpiPci, WithoutPciTheTablesAreUnchanged) {
    const u32 ids[] = {0, 300};
    for (u16 pm : {u16{0}, u16{0x608}}) {
        Built b = build(2, ids, pm);
        ASSERT_EQ(b.used, 720u); // the MADT at 640: 44 + 8 + 16 + 12 bytes
        EXPECT_EQ(table(b, "MCFG"), nullptr);
        const u8* x = b.at(g64(b.at(kGpa) + 24));
        EXPECT_EQ(g32(x + 4), 36u + 2 * 8);
        const u8* d = nullptr;
        const std::vector<Obj> top = dsdt_objects(b, &d);
        EXPECT_EQ(d, b.at(kGpa + 448));
        EXPECT_EQ(g32(d + 4), 36u + 11 + 51);
        EXPECT_EQ(top.size(), 2u);
        const char* end = reinterpret_cast<const char*>(b.mem.data() + b.used);
        for (const char* n : {"PCI0", "MRES", "MCFG"})
            EXPECT_EQ(std::search(reinterpret_cast<const char*>(b.mem.data()), end, n, n + 4), end)
                << n;
        u64 h = 0xcbf29ce484222325ull;
        for (usize i = 0; i < b.used; ++i)
            h = (h ^ b.mem[i]) * 0x100000001b3ull;
        EXPECT_EQ(h, pm ? 0xf6796f0ef567e22dull : 0xb4581a28c0971293ull) << pm;
    }
}
