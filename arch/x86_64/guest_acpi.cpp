#include "guest_acpi.hpp"

#include <string.h>

#include "hypervisor/bytes.hpp"

namespace keel::x86 {
namespace {

// Where each table sits in the buffer (all 16-byte aligned; the RSDP needs 16). With PCI
// the MCFG takes the DSDT's place and the DSDT, longer, follows the MADT.
constexpr usize kRsdp = 0, kXsdt = 64, kFadt = 128, kDsdt = 448, kMcfg = 448, kMadt = 640;
constexpr usize kHeader = 36, kFadtLen = 276, kMcfgLen = kHeader + 8 + 16;
static_assert(kXsdt + kHeader + 3 * 8 <= kFadt && kMcfg + kMcfgLen <= kMadt);
constexpr u64 kEcamBusBytes = 1ull << 20; // 32 devices x 8 functions x 4 KiB

u8 sum(const u8* p, usize n) {
    u8 s = 0;
    for (usize i = 0; i < n; ++i)
        s = static_cast<u8>(s + p[i]);
    return s;
}

// 5.2.6 header: signature, length, revision, checksum (byte 9), OEM ids, creator.
void header(u8* t, const char* sig, u32 len, u8 revision) {
    memcpy(t, sig, 4);
    put_le(t + 4, len, 4);
    t[8] = revision;
    memcpy(t + 10, "KEEL  ", 6);
    memcpy(t + 16, "KEELVM  ", 8);
    put_le(t + 24, 1, 4);      // OEM revision
    memcpy(t + 28, "KEEL", 4); // creator id
    put_le(t + 32, 1, 4);      // creator revision
}
void seal(u8* t, usize len) { t[9] = static_cast<u8>(-sum(t, len)); }

// 5.2.3.2 Generic Address Structure in system I/O space: a byte, or a dword.
void gas_io(u8* p, u16 port, bool dword) {
    p[0] = 1;              // system I/O
    p[1] = dword ? 32 : 8; // bit width
    p[2] = 0;              // bit offset
    p[3] = dword ? 3 : 1;  // access size: dword or byte
    put_le(p + 4, port, 8);
}
void gas_io_byte(u8* p, u16 port) { gas_io(p, port, false); }

// DSDT body: Name (_S5, Package () { 5, 0 }) in AML (20.2.5.1 NameOp, 20.2.5.4 PackageOp:
// PkgLength 5 = itself + NumElements + BytePrefix 5 + ZeroOp).
constexpr u8 kS5[] = {0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a, kSleepTypeS5, 0x00};
// COM1 as an ACPI device, so that the guest maps its interrupt (GSI 4) through the I/O
// APIC: with no 8259 (hardware-reduced) Linux sets up no ISA IRQs of its own.
//   Scope (\_SB) { Device (COM1) { Name (_HID, EisaId ("PNP0501")) Name (_UID, One)
//     Name (_CRS, ResourceTemplate () { IO (Decode16, 0x3F8, 0x3F8, 1, 8) IRQNoFlags () {4} }) } }
// AML (20.2.5): ScopeOp 10, DeviceOp 5B 82, NameOp 08, BufferOp 11, PkgLength one byte
// (< 64); resources (6.4.2): I/O port 47, IRQ 22 with mask bit 4, end tag 79.
constexpr u8 kCom1[] = {0x10, 0x32, '_',  'S',  'B',  '_',       // Scope (\_SB)
                        0x5b, 0x82, 0x2b, 'C',  'O',  'M',  '1', // Device (COM1)
                        0x08, '_',  'H',  'I',  'D',  0x0c, 0x41, 0xd0, 0x05,
                        0x01,                                                 // EisaId PNP0501
                        0x08, '_',  'U',  'I',  'D',  0x01,                   // _UID One
                        0x08, '_',  'C',  'R',  'S',  0x11, 0x10, 0x0a, 0x0d, // Buffer (13)
                        0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,       // IO 0x3f8, 8 ports
                        0x22, 0x10, 0x00,                                     // IRQNoFlags {4}
                        0x79, 0x00};                                          // end tag
static_assert(sizeof kCom1 == 1 + 0x32, "ScopeOp and the scope's PkgLength");

// An AML writer (20.2). With p == nullptr it only counts, which sizes the DSDT before
// anything is written.
struct Aml {
    u8* p;
    usize n = 0;
    bool ok = true;

    void byte(u8 b) {
        if (p != nullptr) p[n] = b;
        ++n;
    }
    void le(u64 v, usize bytes) {
        for (usize i = 0; i < bytes; ++i)
            byte(static_cast<u8>(v >> (8 * i)));
    }
    void seg(const char* s) { // a NameSeg, 4 characters
        for (usize i = 0; i < 4; ++i)
            byte(static_cast<u8>(s[i]));
    }
    void patch(usize at, u8 b) {
        if (p != nullptr) p[at] = b;
    }
    // 20.2.4 PkgLength, counting itself: open() reserves one byte, close() writes the
    // shortest encoding: that byte below 64, else a lead byte with the low nibble and one
    // more with bits 4..11, the contents moved up to make room. Nothing is ever written
    // past where the finished AML ends, so the counting pass gives the room it needs.
    usize open() {
        const usize at = n;
        byte(0);
        return at;
    }
    void close(usize at) {
        const usize len = n - at; // the contents and the byte reserved
        if (len < 64) {
            patch(at, static_cast<u8>(len));
        } else if (len + 1 < 4096) {
            if (p != nullptr) memmove(p + at + 2, p + at + 1, len - 1);
            ++n;
            patch(at, static_cast<u8>(0x40 | ((len + 1) & 0xf)));
            patch(at + 1, static_cast<u8>((len + 1) >> 4));
        } else {
            ok = false;
        }
    }
    // 20.2.3 ComputationalData: ZeroOp, OneOp, or BytePrefix / WordPrefix / DWordPrefix.
    void integer(u32 v) {
        if (v <= 1) {
            byte(static_cast<u8>(v));
        } else if (v <= 0xff) {
            byte(0x0a), le(v, 1);
        } else if (v <= 0xffff) {
            byte(0x0b), le(v, 2);
        } else {
            byte(0x0c), le(v, 4);
        }
    }
    // 20.2.5.1 Name (seg, integer); EisaId is always a DWordConst.
    void name_int(const char* s, u32 v) { byte(0x08), seg(s), integer(v); }
    void name_eisa(const char* s, const u8 (&id)[4]) {
        byte(0x08), seg(s), byte(0x0c);
        for (u8 b : id)
            byte(b);
    }
    // DeviceOp (20.2.5.2: ExtOpPrefix 5B, 82), PkgLength, NameSeg; closed with close().
    usize device(const char* s) {
        byte(0x5b), byte(0x82);
        const usize at = open();
        seg(s);
        return at;
    }
    // Name (_CRS, Buffer (n) { ... }): BufferOp 11, PkgLength, BufferSize as BytePrefix n
    // (every template here is under 256 bytes), the descriptors, the end tag (6.4.2.9: 79
    // and a zero checksum, which means none). resources_end() patches n and the PkgLength.
    struct Crs {
        usize pkg, size_at;
    };
    Crs resources() {
        byte(0x08), seg("_CRS"), byte(0x11);
        const usize pkg = open();
        byte(0x0a);
        const usize size_at = n;
        byte(0);
        return {pkg, size_at};
    }
    void resources_end(Crs r) {
        byte(0x79), byte(0x00);
        const usize size = n - (r.size_at + 1);
        if (size > 0xff) ok = false;
        patch(r.size_at, static_cast<u8>(size));
        close(r.pkg);
    }
};

// Address space descriptors' general flags (6.4.3.5.1..3, byte 4): producer (bit 0 clear),
// positive decode (bit 1 clear), min fixed (bit 2), max fixed (bit 3).
constexpr u8 kProducerFixed = (1u << 2) | (1u << 3);
constexpr u8 kPnp0a08[] = {0x41, 0xd0, 0x0a, 0x08}; // EisaId ("PNP0A08"): PCI Express bridge
constexpr u8 kPnp0a03[] = {0x41, 0xd0, 0x0a, 0x03}; // EisaId ("PNP0A03"): PCI bridge
constexpr u8 kPnp0c02[] = {0x41, 0xd0, 0x0c, 0x02}; // EisaId ("PNP0C02"): motherboard

// The DSDT's PCI part (guest_acpi.hpp): Scope (\_SB) { Device (PCI0) { ... } Device (MRES)
// { ... } }, for a configuration pci_in_range accepted.
void pci_aml(Aml& a, const GuestAcpiConfig& c) {
    const u32 buses = u32{c.ecam_last_bus} + 1;
    a.byte(0x10); // ScopeOp, PkgLength, _SB_ (the DSDT's scope is the root, as for COM1)
    const usize scope = a.open();
    a.seg("_SB_");

    const usize pci0 = a.device("PCI0");
    a.name_eisa("_HID", kPnp0a08);
    a.name_eisa("_CID", kPnp0a03);
    a.name_int("_SEG", 0);
    a.name_int("_BBN", 0);
    a.name_int("_UID", 0);
    Aml::Crs crs = a.resources();
    // WordBusNumber: 6.4.3.5.3 Word Address Space Descriptor, 88, length 13, type 2 (bus
    // number range), general flags, no type-specific flags, granularity, min, max,
    // translation, length.
    a.byte(0x88), a.le(13, 2), a.byte(2), a.byte(kProducerFixed), a.byte(0);
    a.le(0, 2), a.le(0, 2), a.le(c.ecam_last_bus, 2), a.le(0, 2), a.le(buses, 2);
    // DWordMemory: 6.4.3.5.2 DWord Address Space Descriptor, 87, length 23, type 0 (memory),
    // general flags, type-specific flags (6.4.3.5.4: bit 0 read-write, _MEM 0
    // non-cacheable, _MTP 0 AddressRangeMemory, _TTP 0), granularity, min, max,
    // translation, length.
    a.byte(0x87), a.le(23, 2), a.byte(0), a.byte(kProducerFixed), a.byte(1);
    a.le(0, 4), a.le(c.pci_window, 4), a.le(u64{c.pci_window} + c.pci_window_size - 1, 4);
    a.le(0, 4), a.le(c.pci_window_size, 4);
    a.resources_end(crs);
    // Method (_OSC, 4, NotSerialized) { Return (Arg3) }: MethodOp 14, PkgLength, NameSeg,
    // MethodFlags (20.2.5.2: bits 0..2 the argument count), ReturnOp A4, Arg3Op 6B.
    a.byte(0x14);
    const usize osc = a.open();
    a.seg("_OSC");
    a.byte(4), a.byte(0xa4), a.byte(0x6b);
    a.close(osc);
    a.close(pci0);

    const usize mres = a.device("MRES");
    a.name_eisa("_HID", kPnp0c02);
    a.name_int("_UID", 1);
    crs = a.resources();
    // Memory32Fixed: 6.4.3.4 32-Bit Fixed Memory Range Descriptor, 86, length 9,
    // information (bit 0: read-write), base, length.
    a.byte(0x86), a.le(9, 2), a.byte(1);
    a.le(c.ecam_base, 4), a.le(buses * kEcamBusBytes, 4);
    a.resources_end(crs);
    a.close(mres);
    a.close(scope);
}

// The PCI fields describe something the tables can say: the ECAM window and the MMIO
// window below 4 GiB (Memory32Fixed, DWordMemory), the MMIO window not empty.
bool pci_in_range(const GuestAcpiConfig& c) {
    constexpr u64 k4G = 1ull << 32;
    const u64 ecam_bytes = (u64{c.ecam_last_bus} + 1) * kEcamBusBytes;
    return c.ecam_base < k4G && ecam_bytes <= k4G - c.ecam_base && c.pci_window_size != 0 &&
           u64{c.pci_window} + c.pci_window_size <= k4G;
}

} // namespace

usize build_guest_acpi(u8* buf, usize cap, u64 gpa, const GuestAcpiConfig& c) {
    if (c.cpus == 0 || c.cpus > kMaxGuestCpus || c.apic_ids == nullptr) return 0;
    const bool pci = c.ecam_base != 0;
    if (pci && !pci_in_range(c)) return 0;
    usize madt_len = kHeader + 8 + 12; // the I/O APIC's entry, and one per vCPU:
    for (u32 i = 0; i < c.cpus; ++i)
        madt_len += c.apic_ids[i] < 255 ? 8 : 16;
    Aml count{nullptr};
    if (pci) pci_aml(count, c);
    if (!count.ok) return 0;
    const usize dsdt_at = pci ? (kMadt + madt_len + 15) & ~usize{15} : kDsdt;
    const usize dsdt_len = kHeader + sizeof kS5 + sizeof kCom1 + count.n;
    static_assert(kDsdt + kHeader + sizeof kS5 + sizeof kCom1 <= kMadt);
    const usize total = pci ? dsdt_at + dsdt_len : kMadt + madt_len;
    if (cap < total) return 0;
    memset(buf, 0, total);

    // MADT (5.2.12): local APIC address, flags 0 (no dual 8259s), then the entries.
    u8* m = buf + kMadt;
    header(m, "APIC", static_cast<u32>(madt_len), 5);
    put_le(m + 36, 0xfee00000, 4);
    usize at = kHeader + 8;
    for (u32 i = 0; i < c.cpus; ++i) {
        u8* e = m + at;
        if (c.apic_ids[i] < 255) { // 5.2.12.2 Processor Local APIC: uid, id, flags
            e[0] = 0, e[1] = 8, e[2] = static_cast<u8>(i), e[3] = static_cast<u8>(c.apic_ids[i]);
            put_le(e + 4, 1, 4); // enabled
            at += 8;
        } else { // 5.2.12.12 Processor Local x2APIC: id, flags, uid
            e[0] = 9, e[1] = 16;
            put_le(e + 4, c.apic_ids[i], 4);
            put_le(e + 8, 1, 4);
            put_le(e + 12, i, 4);
            at += 16;
        }
    }
    u8* io = m + at; // 5.2.12.3 I/O APIC: id, address, GSI base 0
    io[0] = 1, io[1] = 12, io[2] = c.ioapic_id;
    put_le(io + 4, c.ioapic_base, 4);
    seal(m, madt_len);

    // DSDT: the header, \_S5, COM1, and with PCI the host bridge and its ECAM reservation.
    u8* d = buf + dsdt_at;
    header(d, "DSDT", static_cast<u32>(dsdt_len), 2);
    memcpy(d + kHeader, kS5, sizeof kS5);
    memcpy(d + kHeader + sizeof kS5, kCom1, sizeof kCom1);
    if (pci) {
        Aml a{d + kHeader + sizeof kS5 + sizeof kCom1};
        pci_aml(a, c);
    }
    seal(d, dsdt_len);

    // MCFG (PCI Firmware Specification 3.3, 4.1.2): 8 reserved bytes, then one allocation:
    // base address (of bus 0), segment group 0, start bus 0, end bus, 4 reserved bytes.
    if (pci) {
        u8* g = buf + kMcfg;
        header(g, "MCFG", kMcfgLen, 1);
        put_le(g + kHeader + 8, c.ecam_base, 8);
        g[kHeader + 8 + 11] = c.ecam_last_bus;
        seal(g, kMcfgLen);
    }

    // FADT (5.2.9, revision 6.5): hardware-reduced, reset register, sleep registers.
    u8* f = buf + kFadt;
    header(f, "FACP", kFadtLen, 6);
    put_le(f + 40, gpa + dsdt_at, 4);          // DSDT
    put_le(f + 109, (1u << 2) | (1u << 5), 2); // IAPC_BOOT_ARCH: VGA not present, no CMOS RTC
    // Flags: WBINVD (0), PWR_BUTTON and SLP_BUTTON as control methods/none (4, 5),
    // TMR_VAL_EXT (8: a 32-bit PM timer), RESET_REG_SUP (10), HW_REDUCED_ACPI (20).
    put_le(f + 112,
           (1u << 0) | (1u << 4) | (1u << 5) | (c.pm_timer_port ? 1u << 8 : 0) | (1u << 10) |
               (1u << 20),
           4);
    if (c.pm_timer_port) {
        put_le(f + 76, c.pm_timer_port, 4);     // PM_TMR_BLK
        f[91] = 4;                              // PM_TMR_LEN
        gas_io(f + 208, c.pm_timer_port, true); // X_PM_TMR_BLK
    }
    gas_io_byte(f + 116, c.reset_port);
    f[128] = c.reset_value;
    f[131] = 5;                        // FADT minor version: ACPI 6.5
    put_le(f + 140, gpa + dsdt_at, 8); // X_DSDT
    gas_io_byte(f + 244, c.sleep_control_port);
    gas_io_byte(f + 256, c.sleep_status_port);
    memcpy(f + 268, "KEELHV\0\0", 8); // hypervisor vendor identity
    seal(f, kFadtLen);

    // XSDT (5.2.8): FADT and MADT, and the MCFG with PCI.
    u8* x = buf + kXsdt;
    const usize xsdt_len = kHeader + (pci ? 24 : 16);
    header(x, "XSDT", static_cast<u32>(xsdt_len), 1);
    put_le(x + kHeader, gpa + kFadt, 8);
    put_le(x + kHeader + 8, gpa + kMadt, 8);
    if (pci) put_le(x + kHeader + 16, gpa + kMcfg, 8);
    seal(x, xsdt_len);

    // RSDP (5.2.5.3), revision 2: checksum over the first 20 bytes, extended over all 36.
    u8* r = buf + kRsdp;
    memcpy(r, "RSD PTR ", 8);
    memcpy(r + 9, "KEEL  ", 6);
    r[15] = 2;
    put_le(r + 20, 36, 4);
    put_le(r + 24, gpa + kXsdt, 8);
    r[8] = static_cast<u8>(-sum(r, 20));
    r[32] = static_cast<u8>(-sum(r, 36));
    return total;
}

} // namespace keel::x86
