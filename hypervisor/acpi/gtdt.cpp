#include "hypervisor/acpi/fields.hpp"
#include "hypervisor/acpi/readers.hpp"

namespace keel::acpi {
namespace {

// GTDT (5.2.25) after the 36-byte header: CntControlBase u64 @36, reserved u32 @44, then
// (GSIV u32, flags u32) for the secure EL1 timer @48, non-secure EL1 @56, virtual EL1 @64
// and non-secure EL2 @72; CntReadBase u64 @80 and the platform timers after that.
constexpr u32 kSecureEl1 = 48, kNonSecureEl1 = 56, kVirtualEl1 = 64, kEl2 = 72;
constexpr u32 kMinLength = kEl2 + 8;
// The architected timers are per-CPU, so their GSIVs must be PPIs (GIC INTIDs 16-31).
// The secure timer may be absent (GSIV 0) where the OS is not told of it.
constexpr bool is_ppi(u32 gsiv) { return gsiv >= 16 && gsiv < 32; }

} // namespace

Status read_gtdt(const u8* t, u32 len, Platform& out) {
    if (len < kMinLength) return Status::Truncated;
    const TimerIntids timers{le32(t + kSecureEl1), le32(t + kNonSecureEl1), le32(t + kVirtualEl1),
                             le32(t + kEl2)};
    if (!is_ppi(timers.phys) || !is_ppi(timers.virt) || !is_ppi(timers.hyp) ||
        (timers.secure_phys != 0 && !is_ppi(timers.secure_phys)))
        return Status::Corrupt;
    out.timers = timers;
    return Status::Ok;
}

} // namespace keel::acpi
