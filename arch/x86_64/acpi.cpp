#include "acpi.hpp"

namespace keel::x86 {
namespace {

// RSDP (ACPI 6.5 5.2.5.3): the 1.0 part is 20 bytes with its own checksum; revision
// 2+ adds length, XSDT address and an extended checksum over `length` bytes.
constexpr usize kRsdpV1Size = 20;
constexpr usize kRsdpV2Size = 36;
constexpr usize kRsdpRevision = 15;
constexpr usize kRsdpRsdt = 16;
constexpr usize kRsdpLength = 20;
constexpr usize kRsdpXsdt = 24;
constexpr usize kRsdpAlign = 16;

// System description table header (5.2.6): signature, length, ... 36 bytes.
constexpr usize kSdtHeaderSize = 36;
constexpr usize kSdtLength = 4;

// MADT (5.2.12): local APIC address at 36, flags at 40, entries from 44.
constexpr usize kMadtLocalApic = 36;
constexpr usize kMadtEntries = 44;
constexpr u8 kMadtTypeLocalApic = 0;         // 5.2.12.2, 8 bytes
constexpr u8 kMadtTypeIoApic = 1;            // 5.2.12.3, 12 bytes
constexpr u8 kMadtTypeLocalApicOverride = 5; // 5.2.12.8, 12 bytes
constexpr u8 kMadtTypeLocalX2Apic = 9;       // 5.2.12.12, 16 bytes
constexpr u32 kMadtCpuEnabled = 1u << 0;
constexpr u32 kInvalidXApicId = 0xff;
constexpr u32 kInvalidX2ApicId = 0xffffffff;

// MCFG (PCI Firmware Specification 3.3, 4.1.2): 8 reserved bytes after the header,
// then 16-byte allocations: base u64, segment u16, start bus u8, end bus u8.
constexpr usize kMcfgEntries = 44;
constexpr usize kMcfgEntrySize = 16;
constexpr u64 kEcamBusSize = 1 * MiB; // 32 devices x 8 functions x 4 KiB

u16 le16(const u8* p) { return static_cast<u16>(p[0] | (p[1] << 8)); }
u32 le32(const u8* p) { return static_cast<u32>(le16(p)) | (static_cast<u32>(le16(p + 2)) << 16); }
u64 le64(const u8* p) { return static_cast<u64>(le32(p)) | (static_cast<u64>(le32(p + 4)) << 32); }

bool checksum_ok(const u8* p, usize n) {
    u8 sum = 0;
    for (usize i = 0; i < n; ++i)
        sum = static_cast<u8>(sum + p[i]);
    return sum == 0;
}

bool sig_is(const u8* p, const char* sig, usize n) {
    for (usize i = 0; i < n; ++i)
        if (p[i] != static_cast<u8>(sig[i])) return false;
    return true;
}

const u8* map(const PhysReader& r, u64 pa, u64 size) {
    if (pa == 0 || pa + size < pa) return nullptr;
    return r.map(r.ctx, pa, size);
}

// Maps a whole system description table after checking its header length, its
// signature (if given) and its checksum.
Status map_table(const PhysReader& r, u64 pa, const char* sig, const u8** out, u32* len_out) {
    const u8* hdr = map(r, pa, kSdtHeaderSize);
    if (!hdr) return Status::OutOfRange;
    if (sig && !sig_is(hdr, sig, 4)) return Status::Corrupt;
    u32 len = le32(hdr + kSdtLength);
    if (len < kSdtHeaderSize || len > kAcpiMaxTableSize) return Status::Corrupt;
    const u8* t = map(r, pa, len);
    if (!t) return Status::OutOfRange;
    if (!checksum_ok(t, len)) return Status::Corrupt;
    *out = t;
    *len_out = len;
    return Status::Ok;
}

Status add_cpu(Platform& out, u64 apic_id, bool enabled) {
    if (out.add_cpu(apic_id, enabled)) return Status::Ok;
    // Full: only a CPU we could run on is worth failing for. A duplicate id is a
    // firmware bug (5.2.12.12 forbids listing one CPU twice): keep the first entry.
    if (out.cpu_count >= Platform::kMaxCpus && enabled) return Status::OutOfRange;
    return Status::Ok;
}

Status parse_madt(const u8* t, u32 len, Platform& out) {
    if (len < kMadtEntries) return Status::Truncated;
    u64 local_apic = le32(t + kMadtLocalApic);
    u64 io_apic = 0;
    for (u32 off = kMadtEntries; off < len;) {
        if (len - off < 2) return Status::Truncated;
        const u8* e = t + off;
        const u8 type = e[0];
        const u8 elen = e[1];
        if (elen < 2) return Status::Corrupt; // would never advance
        if (elen > len - off) return Status::Truncated;
        switch (type) {
        case kMadtTypeLocalApic: {
            if (elen < 8) return Status::Corrupt;
            if (e[3] != kInvalidXApicId)
                KEEL_TRY(add_cpu(out, e[3], (le32(e + 4) & kMadtCpuEnabled) != 0));
            break;
        }
        case kMadtTypeIoApic:
            if (elen < 12) return Status::Corrupt;
            if (io_apic == 0) io_apic = le32(e + 4);
            break;
        case kMadtTypeLocalApicOverride:
            if (elen < 12) return Status::Corrupt;
            local_apic = le64(e + 4);
            break;
        case kMadtTypeLocalX2Apic: {
            if (elen < 16) return Status::Corrupt;
            u32 id = le32(e + 4);
            if (id != kInvalidX2ApicId)
                KEEL_TRY(add_cpu(out, id, (le32(e + 8) & kMadtCpuEnabled) != 0));
            break;
        }
        default: break; // NMI sources, overrides etc.: not needed yet
        }
        off += elen;
    }
    bool any_enabled = false;
    for (u32 i = 0; i < out.cpu_count; ++i)
        any_enabled |= out.cpus[i].enabled;
    if (!any_enabled) return Status::NotFound;
    out.irq_kind = IrqControllerKind::Apic;
    out.irq_dist_base = io_apic;
    out.irq_redist_base = local_apic;
    return Status::Ok;
}

Status parse_mcfg(const u8* t, u32 len, Platform& out) {
    if (len < kMcfgEntries || (len - kMcfgEntries) % kMcfgEntrySize != 0) return Status::Corrupt;
    for (u32 off = kMcfgEntries; off < len; off += kMcfgEntrySize) {
        const u8* e = t + off;
        u64 base = le64(e);
        u16 segment = le16(e + 8);
        u8 start = e[10];
        u8 end = e[11];
        if (segment != 0) continue; // multi-segment hosts: later
        if (base == 0 || end < start) return Status::Corrupt;
        // The MCFG base addresses bus 0; Platform (like the DTB's reg) describes the
        // window of the buses it lists.
        out.ecam_base = base + start * kEcamBusSize;
        out.ecam_size = (static_cast<u64>(end) - start + 1) * kEcamBusSize;
        out.pci_bus_start = start;
        out.pci_bus_end = end;
        return Status::Ok;
    }
    return Status::Ok;
}

// Finds the root table: the XSDT when revision >= 2 names one, else the RSDT.
Status read_rsdp(const PhysReader& r, u64 rsdp_pa, u64* root_pa, usize* entry_size) {
    const u8* p = map(r, rsdp_pa, kRsdpV1Size);
    if (!p) return Status::OutOfRange;
    if (!sig_is(p, "RSD PTR ", 8) || !checksum_ok(p, kRsdpV1Size)) return Status::Corrupt;
    if (p[kRsdpRevision] >= 2) {
        p = map(r, rsdp_pa, kRsdpV2Size);
        if (!p) return Status::OutOfRange;
        u32 len = le32(p + kRsdpLength);
        if (len < kRsdpV2Size || len > 4096) return Status::Corrupt;
        p = map(r, rsdp_pa, len);
        if (!p) return Status::OutOfRange;
        if (!checksum_ok(p, len)) return Status::Corrupt;
        if (u64 xsdt = le64(p + kRsdpXsdt); xsdt != 0) {
            *root_pa = xsdt;
            *entry_size = 8;
            return Status::Ok;
        }
    }
    *root_pa = le32(p + kRsdpRsdt);
    *entry_size = 4;
    return *root_pa != 0 ? Status::Ok : Status::NotFound;
}

} // namespace

Result<usize> acpi_find_rsdp(const u8* window, usize len) {
    if (!window) return Status::InvalidArgument;
    for (usize off = 0; off + kRsdpV1Size <= len; off += kRsdpAlign) {
        const u8* p = window + off;
        if (sig_is(p, "RSD PTR ", 8) && checksum_ok(p, kRsdpV1Size)) return off;
    }
    return Status::NotFound;
}

Status acpi_read_platform(u64 rsdp_pa, const PhysReader& r, Platform& out) {
    u64 root_pa = 0;
    usize entry_size = 0;
    KEEL_TRY(read_rsdp(r, rsdp_pa, &root_pa, &entry_size));
    const u8* root = nullptr;
    u32 root_len = 0;
    KEEL_TRY(map_table(r, root_pa, entry_size == 8 ? "XSDT" : "RSDT", &root, &root_len));
    if ((root_len - kSdtHeaderSize) % entry_size != 0) return Status::Corrupt;

    bool have_madt = false, have_mcfg = false;
    for (u32 off = kSdtHeaderSize; off < root_len; off += static_cast<u32>(entry_size)) {
        u64 pa = entry_size == 8 ? le64(root + off) : le32(root + off);
        if (pa == 0) continue;
        const u8* hdr = map(r, pa, kSdtHeaderSize);
        if (!hdr) return Status::OutOfRange;
        const bool is_madt = sig_is(hdr, "APIC", 4), is_mcfg = sig_is(hdr, "MCFG", 4);
        if ((!is_madt || have_madt) && (!is_mcfg || have_mcfg)) continue;
        const u8* t = nullptr;
        u32 len = 0;
        KEEL_TRY(map_table(r, pa, nullptr, &t, &len));
        if (is_madt) {
            KEEL_TRY(parse_madt(t, len, out));
            have_madt = true;
        } else {
            KEEL_TRY(parse_mcfg(t, len, out));
            have_mcfg = true;
        }
    }
    return have_madt ? Status::Ok : Status::NotFound;
}

} // namespace keel::x86
