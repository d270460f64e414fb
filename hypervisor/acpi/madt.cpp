#include "hypervisor/acpi/madt.hpp"

#include "hypervisor/acpi/fields.hpp"

namespace keel::acpi {
namespace {

// MADT header: local APIC address at 36, flags at 40, entries from 44 (5.2.12).
constexpr u32 kLocalApic = 36;
constexpr u32 kEntries = 44;

// Entry types and the minimum lengths that hold the fields read here.
constexpr u8 kLocalApicEntry = 0x0;   // 5.2.12.2: uid u8 @2, APIC id u8 @3, flags @4; 8 bytes
constexpr u8 kIoApicEntry = 0x1;      // 5.2.12.3: address @4; 12 bytes
constexpr u8 kApicOverride = 0x5;     // 5.2.12.8: 64-bit local APIC address @4; 12 bytes
constexpr u8 kLocalX2ApicEntry = 0x9; // 5.2.12.12: x2APIC id @4, flags @8, uid @12; 16 bytes
constexpr u8 kGicc = 0xB;             // 5.2.12.14: uid @8, flags @12, MPIDR @68; 80 bytes
constexpr u8 kGicd = 0xC;             // 5.2.12.15: base @8, version @20; 24 bytes
constexpr u8 kGicr = 0xE;             // 5.2.12.17: base @4, length @12; 16 bytes
constexpr u8 kGicIts = 0xF;           // 5.2.12.18: base @8; 20 bytes

constexpr u32 kCpuEnabled = 1u << 0; // local APIC, x2APIC and GICC flags bit 0
constexpr u32 kInvalidXApicId = 0xff;
constexpr u32 kInvalidX2ApicId = 0xffffffff;
constexpr u64 kMpidrAffinity = 0xff00ffffffull; // Aff3 [39:32], Aff2..Aff0 [23:0]

// GICD version byte (5.2.12.15, table 5.40): 0 = find it in the hardware, 1-4 = GICv1-v4.
constexpr u8 kGicVersionFromHardware = 0;

Status add_cpu(Platform& out, u64 hw_id, bool enabled, u32 uid) {
    if (out.add_cpu(hw_id, enabled)) {
        out.cpus[out.cpu_count - 1].acpi_uid = uid;
        return Status::Ok;
    }
    // Full: only a CPU we could run on is worth failing for. A duplicate id is a
    // firmware bug (5.2.12.12 forbids listing one CPU twice): keep the first entry.
    if (out.cpu_count >= Platform::kMaxCpus && enabled) return Status::OutOfRange;
    return Status::Ok;
}

struct Found {
    u64 local_apic = 0;
    u64 io_apic = 0;
    u64 gicd = 0;
    u8 gic_version = 0;
    bool have_gicd = false;
    u64 gicr = 0;
    u64 gicr_size = 0;
    MmioRange gicr_more[Platform::kMaxMoreRedist] = {};
    u32 gicr_more_count = 0;
    u64 its = 0;
    u32 gicc_count = 0;
};

Status read_entry(const u8* e, u8 elen, Platform& out, Found& f) {
    switch (e[0]) {
    case kLocalApicEntry: {
        if (elen < 8) return Status::Corrupt;
        const u32 flags = le32(e + 4);
        if (e[3] != kInvalidXApicId) return add_cpu(out, e[3], (flags & kCpuEnabled) != 0, e[2]);
        return Status::Ok;
    }
    case kIoApicEntry:
        if (elen < 12) return Status::Corrupt;
        if (f.io_apic == 0) f.io_apic = le32(e + 4);
        return Status::Ok;
    case kApicOverride:
        if (elen < 12) return Status::Corrupt;
        f.local_apic = le64(e + 4);
        return Status::Ok;
    case kLocalX2ApicEntry: {
        if (elen < 16) return Status::Corrupt;
        const u32 id = le32(e + 4);
        if (id != kInvalidX2ApicId)
            return add_cpu(out, id, (le32(e + 8) & kCpuEnabled) != 0, le32(e + 12));
        return Status::Ok;
    }
    case kGicc: {
        if (elen < 80) return Status::Corrupt;
        ++f.gicc_count;
        const u32 flags = le32(e + 12);
        return add_cpu(out, le64(e + 68) & kMpidrAffinity, (flags & kCpuEnabled) != 0, le32(e + 8));
    }
    case kGicd:
        if (elen < 24) return Status::Corrupt;
        if (f.have_gicd) return Status::Corrupt; // 5.2.12.15: exactly one distributor
        f.have_gicd = true;
        f.gicd = le64(e + 8);
        f.gic_version = e[20];
        return Status::Ok;
    case kGicr: {
        if (elen < 16) return Status::Corrupt;
        const u64 base = le64(e + 4);
        const u32 size = le32(e + 12);
        if (base == 0 || size == 0 || base + size < base) return Status::Corrupt;
        if (f.gicr == 0) {
            f.gicr = base;
            f.gicr_size = size;
        } else if (f.gicr_more_count == Platform::kMaxMoreRedist) {
            return Status::OutOfRange; // a core's redistributor could be in the one left out
        } else {
            f.gicr_more[f.gicr_more_count++] = MmioRange{base, size};
        }
        return Status::Ok;
    }
    case kGicIts:
        if (elen < 20) return Status::Corrupt;
        if (f.its == 0) f.its = le64(e + 8);
        return Status::Ok;
    default: return Status::Ok; // NMI sources, interrupt overrides, MSI frames: not used
    }
}

} // namespace

Status read_madt(const u8* t, u32 len, Platform& out) {
    if (len < kEntries) return Status::Truncated;
    Found f;
    f.local_apic = le32(t + kLocalApic);
    for (u32 off = kEntries; off < len;) {
        if (len - off < 2) return Status::Truncated;
        const u8* e = t + off;
        const u8 elen = e[1];
        if (elen < 2) return Status::Corrupt; // would never advance
        if (elen > len - off) return Status::Truncated;
        KEEL_TRY(read_entry(e, elen, out, f));
        off += elen;
    }
    bool any_enabled = false;
    for (u32 i = 0; i < out.cpu_count; ++i)
        any_enabled |= out.cpus[i].enabled;
    if (!any_enabled) return Status::NotFound;
    if (f.gicc_count == 0) {
        out.irq_kind = IrqControllerKind::Apic;
        out.irq_dist_base = f.io_apic;
        out.irq_redist_base = f.local_apic;
        return Status::Ok;
    }
    // arm64: GICC entries need a distributor; GICv3 also needs the redistributors.
    if (!f.have_gicd || f.gicd == 0) return Status::NotFound;
    switch (f.gic_version) {
    case 2: out.irq_kind = IrqControllerKind::GicV2; break;
    case 3:
    case 4: out.irq_kind = IrqControllerKind::GicV3; break; // GICv4 is a GICv3 superset
    case kGicVersionFromHardware:
        return Status::Unsupported; // Keel reads the version from ACPI only
    default: return Status::Unsupported;
    }
    if (out.irq_kind == IrqControllerKind::GicV3 && f.gicr == 0) return Status::NotFound;
    out.irq_dist_base = f.gicd;
    out.irq_redist_base = f.gicr;
    out.irq_redist_size = f.gicr_size;
    for (u32 i = 0; i < f.gicr_more_count; ++i)
        out.redist_more[i] = f.gicr_more[i];
    out.redist_more_count = f.gicr_more_count;
    out.its_base = f.its;
    return Status::Ok;
}

} // namespace keel::acpi
