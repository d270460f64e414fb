#include "hypervisor/acpi/fields.hpp"
#include "hypervisor/acpi/readers.hpp"

namespace keel::acpi {
namespace {

// 12 reserved bytes after the header, then affinity structures (5.2.16): type u8,
// length u8. Flags bit 0 = enabled in each.
constexpr u32 kEntries = 48;
constexpr u8 kApicAffinity =
    0; // 5.2.16.1: domain[7:0] @2, APIC id @3, flags @4, domain[31:8] @9; 16 bytes
constexpr u8 kMemoryAffinity = 1; // 5.2.16.2: domain @2, base @8, length @16, flags @28; 40 bytes
constexpr u8 kX2ApicAffinity = 2; // 5.2.16.3: domain @4, x2APIC id @8, flags @12; 24 bytes
constexpr u8 kGiccAffinity = 3;   // 5.2.16.4: domain @2, ACPI processor UID @6, flags @10; 18 bytes
constexpr u32 kEnabled = 1u << 0;

void set_cpu_node(Platform& out, bool by_uid, u64 key, u32 node) {
    for (u32 i = 0; i < out.cpu_count; ++i)
        if ((by_uid ? out.cpus[i].acpi_uid : out.cpus[i].hw_id) == key) out.cpus[i].node = node;
}

} // namespace

Status read_srat(const u8* t, u32 len, Platform& out) {
    if (len < kEntries) return Status::Truncated;
    MemNode nodes[Platform::kMaxMem];
    u32 count = 0;
    // Check everything first: a bad entry must leave `out` as it was.
    for (int pass = 0; pass < 2; ++pass) {
        for (u32 off = kEntries; off < len;) {
            if (len - off < 2) return Status::Truncated;
            const u8* e = t + off;
            const u8 elen = e[1];
            if (elen < 2) return Status::Corrupt;
            if (elen > len - off) return Status::Truncated;
            switch (e[0]) {
            case kApicAffinity:
                if (elen < 16) return Status::Corrupt;
                if (pass == 1 && (le32(e + 4) & kEnabled) != 0)
                    set_cpu_node(out, false, e[3],
                                 e[2] | (static_cast<u32>(e[9]) << 8) |
                                     (static_cast<u32>(e[10]) << 16) |
                                     (static_cast<u32>(e[11]) << 24));
                break;
            case kMemoryAffinity: {
                if (elen < 40) return Status::Corrupt;
                const u64 base = le64(e + 8), size = le64(e + 16);
                if ((le32(e + 28) & kEnabled) == 0 || size == 0) break;
                if (base + size < base) return Status::Corrupt;
                if (pass == 0) {
                    for (u32 i = 0; i < count; ++i)
                        if (base < nodes[i].base + nodes[i].size && nodes[i].base < base + size)
                            return Status::Corrupt; // one byte in two domains
                    if (count == Platform::kMaxMem) return Status::OutOfRange;
                    nodes[count++] = MemNode{base, size, le32(e + 2)};
                }
                break;
            }
            case kX2ApicAffinity:
                if (elen < 24) return Status::Corrupt;
                if (pass == 1 && (le32(e + 12) & kEnabled) != 0)
                    set_cpu_node(out, false, le32(e + 8), le32(e + 4));
                break;
            case kGiccAffinity:
                if (elen < 18) return Status::Corrupt;
                if (pass == 1 && (le32(e + 10) & kEnabled) != 0)
                    set_cpu_node(out, true, le32(e + 6), le32(e + 2));
                break;
            default: break; // generic initiators, ITS affinity: not used
            }
            off += elen;
        }
    }
    for (u32 i = 0; i < count; ++i)
        out.mem_nodes[i] = nodes[i];
    out.mem_node_count = count;
    return Status::Ok;
}

} // namespace keel::acpi
