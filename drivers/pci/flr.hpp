// Function Level Reset (PCI Express Base 6.0 §6.6.2) of one function, found through the
// capability list (PCI Local Bus 3.0 §6.7). Used when a VF leaves its VM: bus mastering
// off, pending transactions given time to drain, FLR, then the 100 ms the spec requires
// before the function is used again. Pure logic over ConfigAccess plus a wait the caller
// supplies; host-tested (tests/unit/pci_flr_test.cpp).
#pragma once

#include "drivers/pci/ecam.hpp"

namespace keel::pci {

constexpr u32 kCfgStatus = 0x04; // status [31:16] of the command dword
constexpr u32 kStatusCapList = 1u << 20;
constexpr u32 kCfgCapPtr = 0x34; // [7:0], dword aligned
constexpr u8 kCapIdPcie = 0x10;
// Inside the PCI Express capability (§7.5.3).
constexpr u32 kPcieDevCap = 0x04; // FLR capable [28]
constexpr u32 kPcieDevCtl = 0x08; // control [15:0] (Initiate FLR [15]), status [31:16]
constexpr u32 kDevCapFlr = 1u << 28;
constexpr u32 kDevCtlFlr = 1u << 15;
constexpr u32 kDevStaPending = 1u << (16 + 5); // Transactions Pending

class Waiter {
public:
    virtual void wait_us(u64 us) = 0;

protected:
    ~Waiter() = default;
};

// Offset of the first capability with `id`: NotFound without one (or no list), Corrupt
// for a list that loops or points into the header.
[[nodiscard]] Result<u32> find_cap(ConfigAccess& cfg, Bdf f, u8 id);
// Resets the function. NotFound: not PCI Express; Unsupported: not FLR capable (nothing
// is written). Ok also when transactions were still pending after 100 ms: the FLR itself
// discards them (§6.6.2), and the caller's IOMMU keeps blocking the stream either way.
[[nodiscard]] Status function_level_reset(ConfigAccess& cfg, Bdf f, Waiter& wait);

} // namespace keel::pci
