#include "hypervisor/acpi/fields.hpp"
#include "hypervisor/acpi/readers.hpp"

namespace keel::acpi {
namespace {

// IORT (Arm DEN 0049, IO Remapping Table): node count u32 @36, offset of the node array
// u32 @40. Every node starts with type u8, length u16, revision u8, identifier u32, ID
// mapping count u32 @8 and the offset of its ID mapping array u32 @12 (node-relative).
constexpr u32 kNodeCount = 36, kNodeArray = 40, kMinLength = 48;
constexpr u32 kNodeHeader = 16;
constexpr u8 kItsGroup = 0, kRootComplex = 2, kSmmuV3 = 4;
// Root complex node: PCI segment number u32 @28. SMMUv3 node: base u64 @16, event GSIV
// @44, PRI @48, GERROR @52, SYNC @56 (every revision has these).
constexpr u32 kRcSegment = 28, kRcMinLength = 32;
constexpr u32 kSmmuBase = 16, kSmmuEvent = 44, kSmmuGerror = 52, kSmmuMinLength = 60;
// ID mapping: input base, number of IDs minus one, output base, output reference (the
// target node's offset in the table), flags (bit 0: a single mapping, no input range).
constexpr u32 kMapSize = 20;
constexpr u32 kSingleMapping = 1;

struct Mapping {
    u32 in, count, out, target;
};

struct Iort {
    const u8* t;
    u32 len;

    // The node at `off`, if it lies inside the table and its length covers its header
    // and fits: its length, else 0.
    [[nodiscard]] u32 node_len(u32 off) const {
        if (off < kMinLength || off > len || len - off < kNodeHeader) return 0;
        const u32 n = le16(t + off + 1);
        return n >= kNodeHeader && n <= len - off ? n : 0;
    }
    // The i-th ID mapping of the node at `off` (node_len checked), or false where the
    // array does not fit inside the node or the mapping is a single one.
    [[nodiscard]] bool mapping(u32 off, u32 i, Mapping& m, bool& fits) const {
        const u32 n = le16(t + off + 1), count = le32(t + off + 8), at = le32(t + off + 12);
        fits = count == 0 || (at >= kNodeHeader && at <= n && u64{count} * kMapSize <= n - at);
        if (!fits || i >= count) return false;
        const u8* p = t + off + at + i * kMapSize;
        if (le32(p + 16) & kSingleMapping) return false;
        m = Mapping{le32(p), le32(p + 4), le32(p + 8), le32(p + 12)};
        // Both ranges inside the 32-bit ID space.
        fits = u64{m.in} + m.count <= 0xffffffffu && u64{m.out} + m.count <= 0xffffffffu;
        return fits;
    }
    [[nodiscard]] u8 type(u32 off) const { return t[off]; }
};

// Follows stream IDs [stream, stream + count) of the SMMU node at `smmu` to the ITS:
// the mapping that contains the whole range and targets an ITS group.
bool its_of_streams(const Iort& io, u32 smmu, u32 stream, u32 count, u32& device) {
    Mapping m{};
    bool fits = true;
    for (u32 i = 0; i < le32(io.t + smmu + 8); ++i) {
        if (!io.mapping(smmu, i, m, fits)) continue;
        if (io.node_len(m.target) == 0 || io.type(m.target) != kItsGroup) continue;
        if (stream >= m.in && u64{stream} + count - 1 <= u64{m.in} + m.count) {
            device = m.out + (stream - m.in);
            return true;
        }
    }
    return false;
}

// Two root complex ranges that share IDs: ambiguous, so Corrupt, except the one-ID overlap
// firmware writes when it stores an ID count instead of "count minus one" (QEMU 7.2's
// virt does: bus 0 as 0x000-0x100, the next range from 0x100); the later range keeps it.
Status settle_overlaps(PciIdRange* r, u32 n) {
    for (u32 i = 0; i < n; ++i)
        for (u32 j = 0; j < n; ++j) {
            if (i == j) continue;
            const u64 i_end = u64{r[i].rid_base} + r[i].rid_count;
            if (r[j].rid_base < r[i].rid_base || r[j].rid_base >= i_end) continue;
            if (r[j].rid_base != i_end - 1 || r[i].rid_count < 2) return Status::Corrupt;
            --r[i].rid_count;
        }
    return Status::Ok;
}

} // namespace

Status read_iort(const u8* t, u32 len, Platform& out) {
    if (len < kMinLength) return Status::Truncated;
    const Iort io{t, len};
    const u32 nodes = le32(t + kNodeCount);
    u32 smmu_at[Platform::kMaxSmmus] = {};
    u32 smmus = 0;
    SmmuDesc desc[Platform::kMaxSmmus] = {};
    // Pass 1: every node well-formed; the SMMUv3s numbered in table order.
    u32 off = le32(t + kNodeArray);
    for (u32 i = 0; i < nodes; ++i) {
        const u32 n = io.node_len(off);
        if (n == 0) return Status::Corrupt;
        Mapping m{};
        bool fits = true;
        for (u32 k = 0; fits && k < le32(t + off + 8); ++k)
            (void)io.mapping(off, k, m, fits);
        if (!fits) return Status::Corrupt;
        if (io.type(off) == kSmmuV3) {
            if (n < kSmmuMinLength) return Status::Corrupt;
            if (smmus == Platform::kMaxSmmus) return Status::OutOfRange;
            desc[smmus] = SmmuDesc{le64(t + off + kSmmuBase), le32(t + off + kSmmuEvent),
                                   le32(t + off + kSmmuGerror)};
            if (desc[smmus].base == 0) return Status::Corrupt;
            smmu_at[smmus++] = off;
        }
        if (io.type(off) == kRootComplex && n < kRcMinLength) return Status::Corrupt;
        off += n;
    }
    // Pass 2: segment 0's root complexes, each mapping followed to its SMMU and ITS.
    PciIdRange ranges[Platform::kMaxPciIdRanges] = {};
    u32 count = 0;
    off = le32(t + kNodeArray);
    for (u32 i = 0; i < nodes; off += io.node_len(off), ++i) {
        if (io.type(off) != kRootComplex || le32(t + off + kRcSegment) != 0) continue;
        Mapping m{};
        bool fits = true;
        for (u32 k = 0; k < le32(t + off + 8); ++k) {
            if (!io.mapping(off, k, m, fits)) continue;
            if (io.node_len(m.target) == 0 || m.count == 0xffffffffu) return Status::Corrupt;
            if (count == Platform::kMaxPciIdRanges) return Status::OutOfRange;
            PciIdRange r{m.in, m.count + 1, PciIdRange::kNoSmmu, 0, 0, false};
            if (io.type(m.target) == kItsGroup) {
                r.its_device_base = m.out;
                r.its_mapped = true;
            } else if (io.type(m.target) == kSmmuV3) {
                for (u32 s = 0; s < smmus; ++s)
                    if (smmu_at[s] == m.target) r.smmu = s;
                if (r.smmu == PciIdRange::kNoSmmu) return Status::Corrupt; // not a node start
                r.stream_base = m.out;
                r.its_mapped = its_of_streams(io, m.target, m.out, r.rid_count, r.its_device_base);
            } else {
                return Status::Unsupported; // an SMMUv1/v2 or another kind of target
            }
            ranges[count++] = r;
        }
    }
    KEEL_TRY(settle_overlaps(ranges, count));
    for (u32 s = 0; s < smmus; ++s)
        out.smmus[s] = desc[s];
    out.smmu_count = smmus;
    for (u32 r = 0; r < count; ++r)
        out.pci_ids[r] = ranges[r];
    out.pci_id_count = count;
    return Status::Ok;
}

} // namespace keel::acpi
