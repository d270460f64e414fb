#include "guest_acpi.hpp"

#include <string.h>

#include "hypervisor/bytes.hpp"

namespace keel::x86 {
namespace {

// Where each table sits in the buffer (all 16-byte aligned; the RSDP needs 16).
constexpr usize kRsdp = 0, kXsdt = 64, kFadt = 128, kDsdt = 448, kMadt = 640;
constexpr usize kHeader = 36, kFadtLen = 276;

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

} // namespace

usize build_guest_acpi(u8* buf, usize cap, u64 gpa, const GuestAcpiConfig& c) {
    if (c.cpus == 0 || c.cpus > kMaxGuestCpus || c.apic_ids == nullptr) return 0;
    const usize madt_len = kHeader + 8 + c.cpus * 16 + 12;
    const usize total = kMadt + madt_len;
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
    at += 12;
    put_le(m + 4, at, 4); // the real length (local APIC entries are 8 bytes, x2APIC 16)
    seal(m, at);

    // DSDT: the header and \_S5.
    u8* d = buf + kDsdt;
    const usize dsdt_len = kHeader + sizeof kS5 + sizeof kCom1;
    static_assert(kDsdt + kHeader + sizeof kS5 + sizeof kCom1 <= kMadt);
    header(d, "DSDT", static_cast<u32>(dsdt_len), 2);
    memcpy(d + kHeader, kS5, sizeof kS5);
    memcpy(d + kHeader + sizeof kS5, kCom1, sizeof kCom1);
    seal(d, dsdt_len);

    // FADT (5.2.9, revision 6.5): hardware-reduced, reset register, sleep registers.
    u8* f = buf + kFadt;
    header(f, "FACP", kFadtLen, 6);
    put_le(f + 40, gpa + kDsdt, 4);            // DSDT
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
    f[131] = 5;                      // FADT minor version: ACPI 6.5
    put_le(f + 140, gpa + kDsdt, 8); // X_DSDT
    gas_io_byte(f + 244, c.sleep_control_port);
    gas_io_byte(f + 256, c.sleep_status_port);
    memcpy(f + 268, "KEELHV\0\0", 8); // hypervisor vendor identity
    seal(f, kFadtLen);

    // XSDT (5.2.8): FADT and MADT.
    u8* x = buf + kXsdt;
    header(x, "XSDT", kHeader + 16, 1);
    put_le(x + kHeader, gpa + kFadt, 8);
    put_le(x + kHeader + 8, gpa + kMadt, 8);
    seal(x, kHeader + 16);

    // RSDP (5.2.5.3), revision 2: checksum over the first 20 bytes, extended over all 36.
    u8* r = buf + kRsdp;
    memcpy(r, "RSD PTR ", 8);
    memcpy(r + 9, "KEEL  ", 6);
    r[15] = 2;
    put_le(r + 20, 36, 4);
    put_le(r + 24, gpa + kXsdt, 8);
    r[8] = static_cast<u8>(-sum(r, 20));
    r[32] = static_cast<u8>(-sum(r, 36));
    return kMadt + at;
}

} // namespace keel::x86
