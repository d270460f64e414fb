// The BAR apertures Keel itself has placed during boot, so that every later placement
// (the SR-IOV PFs and their VF BARs, then the controller mailbox) keeps clear of the
// earlier ones. Boot core only, before any other core runs Keel code: no lock.
#pragma once

#include "drivers/pci/ecam.hpp"
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

// Claims what firmware left decoding on `bus`: every memory BAR of a function with memory
// space on (sized with decoding briefly off, as size_bars does), and every bridge's
// memory and prefetchable windows (PCI-to-PCI Bridge 1.2 §3.2.5.8-9), so no placement
// lands on a device or in a range a bridge forwards. Returns how many ranges were
// claimed; NoMemory when the claims ran out.
[[nodiscard]] Result<u32> claim_decoding_bars(ConfigAccess& cfg, Claims& claims, u8 bus);

// Every range a BAR placement must keep clear of: RAM and reservations, the ECAM window,
// the UART, the GIC (distributor, every redistributor range, ITS) and the claims so far.
// Returns how many were written (at most `max`; kBusyMax always suffices).
constexpr u32 kBusyMax = Platform::kMaxMem + 8 + Platform::kMaxMoreRedist + Claims::kMax;
u32 busy_ranges(const Platform& p, MemRange* out, u32 max);

} // namespace keel::pci
