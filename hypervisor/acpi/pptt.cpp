#include "hypervisor/acpi/fields.hpp"
#include "hypervisor/acpi/readers.hpp"

namespace keel::acpi {
namespace {

// Entries from 36: type u8, length u8, reserved u16. Processor hierarchy node (type 0,
// 5.2.30.1): flags u32 @4, parent u32 @8 (offset from the table's start, 0 = root),
// ACPI processor ID u32 @12, private resource count u32 @16, resources from @20.
constexpr u32 kEntries = 36;
constexpr u8 kProcessorNode = 0;
constexpr u32 kNodeMinLength = 20;
constexpr u32 kPhysicalPackage = 1u << 0;
constexpr u32 kIdValid = 1u << 1;
constexpr u32 kIsThread = 1u << 2;
constexpr u32 kIsLeaf = 1u << 3;
constexpr u32 kMaxDepth = 16; // package > die > cluster > core > thread is 5

struct Node {
    u32 flags;
    u32 parent;
    u32 id;
};

// The processor node at `off`, checked to lie inside the table.
bool node_at(const u8* t, u32 len, u32 off, Node* n) {
    if (off < kEntries || off >= len || len - off < kNodeMinLength) return false;
    const u8* e = t + off;
    if (e[0] != kProcessorNode || e[1] < kNodeMinLength || e[1] > len - off) return false;
    if (static_cast<u64>(le32(e + 16)) * 4 > e[1] - kNodeMinLength) return false;
    *n = Node{le32(e + 4), le32(e + 8), le32(e + 12)};
    return true;
}

// Offset of the leaf node for ACPI processor UID `uid`, or 0.
Result<u32> find_leaf(const u8* t, u32 len, u32 uid) {
    u32 found = 0;
    for (u32 off = kEntries; off < len;) {
        if (len - off < 4) return Status::Truncated;
        const u8 elen = t[off + 1];
        if (elen < 4 || elen > len - off) return Status::Corrupt;
        Node n;
        if (t[off] == kProcessorNode) {
            if (!node_at(t, len, off, &n)) return Status::Corrupt;
            if ((n.flags & (kIsLeaf | kIdValid)) == (kIsLeaf | kIdValid) && n.id == uid) {
                if (found != 0) return Status::Corrupt; // two leaves claim one CPU
                found = off;
            }
        }
        off += elen;
    }
    return found;
}

} // namespace

Status read_pptt(const u8* t, u32 len, Platform& out) {
    if (len < kEntries) return Status::Truncated;
    u32 cores[Platform::kMaxCpus], packages[Platform::kMaxCpus];
    u32 core_count = 0, package_count = 0;
    u32 core_of[Platform::kMaxCpus], package_of[Platform::kMaxCpus], thread_of[Platform::kMaxCpus];
    for (u32 i = 0; i < out.cpu_count; ++i) {
        const Result<u32> leaf = find_leaf(t, len, out.cpus[i].acpi_uid);
        KEEL_TRY(leaf.status());
        if (leaf.value() == 0) return Status::Corrupt; // a CPU the table does not place
        Node n;
        if (!node_at(t, len, leaf.value(), &n)) return Status::Corrupt;
        u32 core_off = leaf.value();
        if ((n.flags & kIsThread) != 0) {
            core_off = n.parent;
            Node core;
            if (!node_at(t, len, core_off, &core) || (core.flags & kIsThread) != 0)
                return Status::Corrupt; // a thread's parent is its core
        }
        // Up to the physical package; a hierarchy without one is one package.
        u32 pkg_off = 0, at = core_off;
        for (u32 depth = 0; at != 0; ++depth) {
            Node up;
            if (depth == kMaxDepth || !node_at(t, len, at, &up)) return Status::Corrupt;
            if ((up.flags & kPhysicalPackage) != 0) {
                pkg_off = at;
                break;
            }
            at = up.parent;
        }
        core_of[i] = topology_index(cores, &core_count, core_off);
        package_of[i] = topology_index(packages, &package_count, pkg_off);
        thread_of[i] = 0;
        for (u32 j = 0; j < i; ++j)
            if (core_of[j] == core_of[i]) ++thread_of[i];
    }
    for (u32 i = 0; i < out.cpu_count; ++i) {
        out.cpus[i].core = core_of[i];
        out.cpus[i].package = package_of[i];
        out.cpus[i].thread = thread_of[i];
    }
    out.topology_known = true;
    return Status::Ok;
}

} // namespace keel::acpi
