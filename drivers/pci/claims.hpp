// The BAR apertures Keel itself has placed during boot, so that every later placement
// (the SR-IOV PFs and their VF BARs, then the controller mailbox) keeps clear of the
// earlier ones. Boot core only, before any other core runs Keel code: no lock.
#pragma once

#include "hypervisor/boot_info.hpp"
#include "hypervisor/platform.hpp"

namespace keel::pci {

class Claims {
public:
    static constexpr u32 kMax = 32;
    // False (nothing recorded) when full.
    bool add(u64 base, u64 size);
    [[nodiscard]] u32 count() const { return count_; }
    [[nodiscard]] const MemRange* ranges() const { return ranges_; }

private:
    MemRange ranges_[kMax] = {};
    u32 count_ = 0;
};

Claims& bar_claims();

// Every range a BAR placement must keep clear of: RAM and reservations, the ECAM window,
// the UART, the GIC (distributor, every redistributor range, ITS) and the claims so far.
// Returns how many were written (at most `max`; kBusyMax always suffices).
constexpr u32 kBusyMax = Platform::kMaxMem + 8 + Platform::kMaxMoreRedist + Claims::kMax;
u32 busy_ranges(const Platform& p, MemRange* out, u32 max);

} // namespace keel::pci
