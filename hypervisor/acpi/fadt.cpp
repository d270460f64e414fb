#include "hypervisor/acpi/fields.hpp"
#include "hypervisor/acpi/readers.hpp"

namespace keel::acpi {
namespace {

constexpr u32 kArmBootArch = 129; // u16, ACPI 5.1+
constexpr u16 kPsciCompliant = 1u << 0;
constexpr u16 kPsciUseHvc = 1u << 1;

} // namespace

Status read_fadt_arm(const u8* t, u32 len, Platform& out) {
    if (len < kArmBootArch + 2) return Status::Truncated; // an ACPI 5.0-or-older FADT
    const u16 flags = le16(t + kArmBootArch);
    if ((flags & kPsciCompliant) == 0) {
        out.psci = PsciConduit::None;
        return Status::Ok;
    }
    out.psci = (flags & kPsciUseHvc) != 0 ? PsciConduit::Hvc : PsciConduit::Smc;
    return Status::Ok;
}

} // namespace keel::acpi
