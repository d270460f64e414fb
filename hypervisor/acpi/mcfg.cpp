#include "hypervisor/acpi/fields.hpp"
#include "hypervisor/acpi/readers.hpp"

namespace keel::acpi {
namespace {

// 8 reserved bytes after the header, then 16-byte allocations: base u64, segment u16,
// start bus u8, end bus u8.
constexpr u32 kEntries = 44;
constexpr u32 kEntrySize = 16;
constexpr u64 kEcamBusSize = 1 * MiB; // 32 devices x 8 functions x 4 KiB

} // namespace

Status read_mcfg(const u8* t, u32 len, Platform& out) {
    if (len < kEntries || (len - kEntries) % kEntrySize != 0) return Status::Corrupt;
    for (u32 off = kEntries; off < len; off += kEntrySize) {
        const u8* e = t + off;
        const u64 base = le64(e);
        const u16 segment = le16(e + 8);
        const u8 start = e[10];
        const u8 end = e[11];
        if (segment != 0) continue; // multi-segment hosts: later
        if (base == 0 || end < start || base + (end + 1ull) * kEcamBusSize < base)
            return Status::Corrupt;
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

} // namespace keel::acpi
