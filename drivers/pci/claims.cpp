#include "drivers/pci/claims.hpp"

namespace keel::pci {

bool Claims::add(u64 base, u64 size) {
    if (count_ == kMax) return false;
    ranges_[count_] = MemRange{};
    ranges_[count_].base = base;
    ranges_[count_].size = size;
    ++count_;
    return true;
}

namespace {
constinit Claims g_claims; // trivially destructible: no exit-time registration
} // namespace

Claims& bar_claims() { return g_claims; }

} // namespace keel::pci
