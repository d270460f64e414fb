// The SR-IOV extended capability of a physical function (PCI Express Base 6.0 §9.3.3):
// how many VFs, where they sit in routing-ID space, their BARs, and VF Enable. Pure logic
// over pci::ConfigAccess, host-tested against config-space images laid out by the spec
// (tests/unit/sriov_cap_test.cpp).
//
// Order the spec requires: NumVFs and ARI Capable Hierarchy are written with VF Enable
// clear; First VF Offset and VF Stride are read only after (they may change with both,
// §9.3.3.9/10); VF BARs are sized and programmed with VF MSE clear; VF Enable and VF MSE
// last. A VF's own Vendor/Device ID read as FFFFh (§9.3.4.1.1): VFs are found by routing
// ID arithmetic, never by scanning.
#pragma once

#include "drivers/pci/bar_place.hpp"
#include "drivers/pci/ecam.hpp"

namespace keel::sriov {

// Extended capability header (§7.6.3): ID [15:0], version [19:16], next offset [31:20].
constexpr u32 kExtCapStart = 0x100;
constexpr u16 kExtCapIdSriov = 0x0010;

// Register offsets inside the SR-IOV capability (§9.3.3, Figure 9-12).
constexpr u32 kSriovCaps = 0x04;
constexpr u32 kSriovControl = 0x08;      // Control [15:0], Status [31:16]
constexpr u32 kSriovVfCounts = 0x0c;     // InitialVFs [15:0], TotalVFs [31:16]
constexpr u32 kSriovNumVfs = 0x10;       // NumVFs [15:0], Function Dependency Link [23:16]
constexpr u32 kSriovOffsetStride = 0x14; // First VF Offset [15:0], VF Stride [31:16]
constexpr u32 kSriovVfDevice = 0x18;     // VF Device ID [31:16]
constexpr u32 kSriovPageSizes = 0x1c;    // Supported Page Sizes
constexpr u32 kSriovSystemPageSize = 0x20;
constexpr u32 kSriovVfBar0 = 0x24; // VF BAR0..5
// SR-IOV Control bits (§9.3.3.3).
constexpr u32 kCtlVfEnable = 1u << 0;
constexpr u32 kCtlVfMse = 1u << 3;
constexpr u32 kCtlAriHierarchy = 1u << 4;

struct Capability {
    u32 offset = 0; // of the capability in the PF's config space
    u16 initial_vfs = 0;
    u16 total_vfs = 0;
    u16 num_vfs = 0;
    u16 first_offset = 0; // valid for the current NumVFs/ARI setting
    u16 stride = 0;
    u16 vf_device = 0;
    u32 page_sizes = 0; // supported system page sizes (bit n: 2^(n+12) bytes)
    bool ari = false;   // ARI Capable Hierarchy as programmed
};

// Offset of the first extended capability with `id`, NotFound if none; Corrupt on a
// chain that loops or points outside extended space.
[[nodiscard]] Result<u32> find_ext_cap(pci::ConfigAccess& cfg, pci::Bdf f, u16 id);
// Reads the capability (NotFound: not an SR-IOV PF).
[[nodiscard]] Result<Capability> read_capability(pci::ConfigAccess& cfg, pci::Bdf pf);
// Sets NumVFs and ARI Capable Hierarchy with VF Enable clear, then rereads First VF Offset
// and VF Stride. InvalidArgument for n > TotalVFs; BadState if VFs are enabled; Corrupt
// if the device reports a stride of 0 for more than one VF.
[[nodiscard]] Status set_num_vfs(pci::ConfigAccess& cfg, pci::Bdf pf, Capability& cap, u16 n,
                                 bool ari);
// Routing ID of VF `i` (0-based): PF RID + First VF Offset + i * VF Stride (§9.3.3.9/10).
// OutOfRange if it leaves the 16-bit routing-ID space or passes `last_bus`.
[[nodiscard]] Result<pci::Bdf> vf_bdf(pci::Bdf pf, const Capability& cap, u16 i, u32 last_bus);
// Per-VF BAR sizes, probed like type-0 BARs over the VF BAR registers with VF MSE clear.
[[nodiscard]] Status size_vf_bars(pci::ConfigAccess& cfg, pci::Bdf pf, const Capability& cap,
                                  pci::Bar (&bars)[6]);
// Places each VF BAR as one aperture holding every VF's copy (VF n at base + n * size,
// §9.3.3.14), in the bridge windows like any BAR. The aperture is reserved rounded up to a
// power of two VFs, so place_bars' natural alignment holds; bars[].size stays per VF.
[[nodiscard]] Status place_vf_bars(pci::Bar (&bars)[6], u16 num_vfs,
                                   const pci::PlaceConstraints& c);
// Address of VF `i`'s copy of a placed VF BAR.
constexpr u64 vf_bar_addr(const pci::Bar& b, u16 i) {
    return b.addr + static_cast<u64>(i) * b.size;
}
// Writes the VF BAR registers, then VF MSE and VF Enable (keeping ARI). Reads the control
// register back: HardwareFault if VF Enable did not stick.
[[nodiscard]] Status enable_vfs(pci::ConfigAccess& cfg, pci::Bdf pf, const Capability& cap,
                                const pci::Bar (&bars)[6]);

} // namespace keel::sriov
