#include "hypervisor/acpi/tables.hpp"

#include "hypervisor/acpi/fields.hpp"

namespace keel::acpi {
namespace {

// RSDP (5.2.5.3): the 1.0 part is 20 bytes with its own checksum; revision 2+ adds
// length, XSDT address and an extended checksum over `length` bytes.
constexpr usize kRsdpV1Size = 20;
constexpr usize kRsdpV2Size = 36;
constexpr usize kRsdpMaxSize = 4096;
constexpr usize kRsdpRevision = 15;
constexpr usize kRsdpRsdt = 16;
constexpr usize kRsdpLength = 20;
constexpr usize kRsdpXsdt = 24;
constexpr usize kRsdpAlign = 16;

constexpr usize kSdtLength = 4; // 5.2.6: signature, length, revision, checksum, ...
constexpr usize kSdtRevision = 8;

const u8* map(const PhysReader& r, u64 pa, u64 size) {
    if (pa == 0 || size == 0 || pa + size < pa) return nullptr;
    return r.map(r.ctx, pa, size);
}

// Maps a whole system description table after checking its header length, its
// signature (if given) and its checksum.
Status map_checked(const PhysReader& r, u64 pa, const char* sig, const u8** out, u32* len_out) {
    const u8* hdr = map(r, pa, kSdtHeaderSize);
    if (!hdr) return Status::OutOfRange;
    if (sig && !sig_is(hdr, sig, 4)) return Status::Corrupt;
    const u32 len = le32(hdr + kSdtLength);
    if (len < kSdtHeaderSize || len > kMaxTableSize) return Status::Corrupt;
    const u8* t = map(r, pa, len);
    if (!t) return Status::OutOfRange;
    if (!checksum_ok(t, len)) return Status::Corrupt;
    *out = t;
    *len_out = len;
    return Status::Ok;
}

// Finds the root table: the XSDT when revision >= 2 names one, else the RSDT.
Status read_rsdp(const PhysReader& r, u64 rsdp_pa, u64* root_pa, u32* entry_size) {
    const u8* p = map(r, rsdp_pa, kRsdpV1Size);
    if (!p) return Status::OutOfRange;
    if (!sig_is(p, "RSD PTR ", 8) || !checksum_ok(p, kRsdpV1Size)) return Status::Corrupt;
    if (p[kRsdpRevision] >= 2) {
        p = map(r, rsdp_pa, kRsdpV2Size);
        if (!p) return Status::OutOfRange;
        const u32 len = le32(p + kRsdpLength);
        if (len < kRsdpV2Size || len > kRsdpMaxSize) return Status::Corrupt;
        p = map(r, rsdp_pa, len);
        if (!p) return Status::OutOfRange;
        if (!checksum_ok(p, len)) return Status::Corrupt;
        if (const u64 xsdt = le64(p + kRsdpXsdt); xsdt != 0) {
            *root_pa = xsdt;
            *entry_size = 8;
            return Status::Ok;
        }
    }
    *root_pa = le32(p + kRsdpRsdt);
    *entry_size = 4;
    return *root_pa != 0 ? Status::Ok : Status::NotFound;
}

bool overlaps(const Table& a, u64 pa, u32 len) { return pa < a.pa + a.len && a.pa < pa + len; }

} // namespace

const Table* TableSet::find(const char* sig) const {
    for (u32 i = 0; i < count; ++i)
        if (sig_is(reinterpret_cast<const u8*>(tables[i].sig), sig, 4)) return &tables[i];
    return nullptr;
}

Result<usize> find_rsdp(const u8* window, usize len) {
    if (!window) return Status::InvalidArgument;
    for (usize off = 0; off + kRsdpV1Size <= len; off += kRsdpAlign) {
        const u8* p = window + off;
        if (sig_is(p, "RSD PTR ", 8) && checksum_ok(p, kRsdpV1Size)) return off;
    }
    return Status::NotFound;
}

Status open(u64 rsdp_pa, const PhysReader& r, TableSet& out) {
    out.count = 0;
    u64 root_pa = 0;
    u32 entry_size = 0;
    KEEL_TRY(read_rsdp(r, rsdp_pa, &root_pa, &entry_size));
    const u8* root = nullptr;
    u32 root_len = 0;
    KEEL_TRY(map_checked(r, root_pa, entry_size == 8 ? "XSDT" : "RSDT", &root, &root_len));
    if ((root_len - kSdtHeaderSize) % entry_size != 0) return Status::Corrupt;
    const u32 entries = (root_len - kSdtHeaderSize) / entry_size;
    for (u32 i = 0; i < entries; ++i) {
        // The callback may reuse its window: map the root again for each entry.
        root = map(r, root_pa, root_len);
        if (!root) return Status::OutOfRange;
        const u8* e = root + kSdtHeaderSize + i * entry_size;
        const u64 pa = entry_size == 8 ? le64(e) : le32(e);
        if (pa == 0) continue;
        bool again = false; // the same table listed twice: keep one
        for (u32 j = 0; j < out.count; ++j)
            again |= out.tables[j].pa == pa;
        if (again) continue;
        const u8* t = nullptr;
        u32 len = 0;
        KEEL_TRY(map_checked(r, pa, nullptr, &t, &len));
        if (pa < root_pa + root_len && root_pa < pa + len) return Status::Corrupt;
        for (u32 j = 0; j < out.count; ++j)
            if (overlaps(out.tables[j], pa, len)) return Status::Corrupt;
        if (out.find(reinterpret_cast<const char*>(t))) continue; // listed twice: keep the first
        if (out.count == TableSet::kMax) return Status::OutOfRange;
        Table& slot = out.tables[out.count++];
        for (usize k = 0; k < 4; ++k)
            slot.sig[k] = static_cast<char>(t[k]);
        slot.revision = t[kSdtRevision];
        slot.pa = pa;
        slot.len = len;
    }
    return Status::Ok;
}

Result<const u8*> map_table(const PhysReader& r, const Table& t) {
    const u8* p = map(r, t.pa, t.len);
    if (!p) return Status::OutOfRange;
    if (!sig_is(p, t.sig, 4) || le32(p + kSdtLength) != t.len || !checksum_ok(p, t.len))
        return Status::Corrupt; // changed since open()
    return p;
}

} // namespace keel::acpi
