#include "hypervisor/acpi/fields.hpp"
#include "hypervisor/acpi/readers.hpp"

namespace keel::acpi {
namespace {

// DMAR (Intel VT-d spec, chapter 8 "BIOS Considerations"): host address width u8 @36
// (the width minus one), flags u8 @37 (bit 0 INTR_REMAP), 10 reserved bytes, then
// remapping structures from @48, each type u16, length u16.
constexpr u32 kHaw = 36, kFlags = 37, kStructs = 48;
constexpr u8 kIntrRemap = 1u << 0;
constexpr u16 kDrhd = 0, kRmrr = 1;
// DRHD: flags u8 @4 (bit 0 INCLUDE_PCI_ALL), size u8 @5, segment u16 @6, register base
// u64 @8, device scope entries from @16.
constexpr u32 kDrhdFlags = 4, kDrhdSegment = 6, kDrhdBase = 8, kDrhdScopes = 16;
constexpr u8 kIncludeAll = 1u << 0;
// Device scope: type u8, length u8, 2 reserved/flag bytes, enumeration id u8 @4, start
// bus u8 @5, then the path: (device, function) byte pairs from @6.
constexpr u32 kScopeHeader = 6;
constexpr u8 kScopeEndpoint = 1, kScopeBridge = 2;

// The device scope entries of the DRHD at t[off, off + n) (unit `unit`): one-element
// paths on segment 0 become Platform::vtd_scopes; longer paths name a function behind a
// bridge whose bus only the bridge's programming says (not recorded). Corrupt when an
// entry does not fit; OutOfRange when more functions are listed than Platform holds.
struct Found {
    VtdUnit units[Platform::kMaxVtd];
    u32 unit_count;
    VtdScope scopes[Platform::kMaxVtdScopes];
    u32 scope_count;
};

Status read_scopes(const u8* d, u32 n, u32 unit, bool segment0, Found& out) {
    for (u32 at = kDrhdScopes; at < n;) {
        if (n - at < 2) return Status::Corrupt;
        const u8 type = d[at], len = d[at + 1];
        if (len < kScopeHeader || len > n - at || (len - kScopeHeader) % 2 != 0)
            return Status::Corrupt;
        const bool pci = type == kScopeEndpoint || type == kScopeBridge;
        if (pci && segment0 && len == kScopeHeader + 2) {
            if (out.scope_count == Platform::kMaxVtdScopes) return Status::OutOfRange;
            const u8 bus = d[at + 5], dev = d[at + 6], fn = d[at + 7];
            if (dev > 31 || fn > 7) return Status::Corrupt;
            out.scopes[out.scope_count++] =
                VtdScope{unit, static_cast<u16>(bus << 8 | dev << 3 | fn), type == kScopeBridge};
        }
        at += len;
    }
    return Status::Ok;
}

} // namespace

Status read_dmar(const u8* t, u32 len, Platform& out) {
    if (len < kStructs) return Status::Corrupt;
    Found f{}; // into `out` only when the whole table reads
    u32 rmrrs = 0;
    for (u32 off = kStructs; off < len;) {
        if (len - off < 4) return Status::Corrupt;
        const u8* d = t + off;
        const u16 type = le16(d), n = le16(d + 2);
        if (n < 4 || n > len - off) return Status::Corrupt;
        if (type == kDrhd) {
            if (n < kDrhdScopes) return Status::Corrupt;
            if (f.unit_count == Platform::kMaxVtd) return Status::OutOfRange;
            const VtdUnit u{le64(d + kDrhdBase), le16(d + kDrhdSegment),
                            (d[kDrhdFlags] & kIncludeAll) != 0};
            if (u.base == 0 || (u.base & 0xfff) != 0) return Status::Corrupt;
            KEEL_TRY(read_scopes(d, n, f.unit_count, u.segment == 0, f));
            f.units[f.unit_count++] = u;
        } else if (type == kRmrr) {
            ++rmrrs;
        }
        off += n;
    }
    for (u32 i = 0; i < f.unit_count; ++i)
        out.vtd[i] = f.units[i];
    out.vtd_count = f.unit_count;
    for (u32 i = 0; i < f.scope_count; ++i)
        out.vtd_scopes[i] = f.scopes[i];
    out.vtd_scope_count = f.scope_count;
    out.dmar_haw = static_cast<u8>(t[kHaw] + 1);
    out.dmar_intr_remap = (t[kFlags] & kIntrRemap) != 0;
    out.dmar_rmrr_count = rmrrs;
    return Status::Ok;
}

} // namespace keel::acpi
