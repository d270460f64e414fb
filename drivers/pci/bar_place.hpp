// BAR placement (pure logic): each present memory BAR gets a naturally aligned address
// inside one of the host bridge's memory windows, below the highest address the
// hypervisor can map, overlapping nothing already in use (RAM, ECAM, devices, other
// BARs). Largest BAR first, so alignment holes stay small. Host-tested.
#pragma once

#include "drivers/pci/ecam.hpp"
#include "hypervisor/boot_info.hpp"

namespace keel::pci {

struct Window {
    u64 base = 0;
    u64 size = 0;
    bool is64 = false; // may hold addresses >= 4 GiB
};

struct PlaceConstraints {
    const Window* windows = nullptr;
    u32 window_count = 0;
    const MemRange* busy = nullptr; // ranges nothing may overlap
    u32 busy_count = 0;
    u64 addr_limit = 0; // exclusive: the hypervisor's mappable address space
};

// Assigns bars[].addr; NoMemory when some BAR does not fit anywhere.
[[nodiscard]] Status place_bars(Bar (&bars)[6], const PlaceConstraints& c);
[[nodiscard]] bool ranges_overlap(u64 a, u64 alen, u64 b, u64 blen);

// The largest part of [lo, hi) that no range of the memory map touches, as a 32-bit
// window (size 0: none). Where the host bridge's windows are only in ACPI's AML, this is
// the range an OS falls back to for PCI (Linux's e820 "PCI gap"): on a platform with
// one root bridge the gap between the top of low RAM and the chipset's fixed devices.
[[nodiscard]] Window largest_gap(const MemRange* map, u32 count, u64 lo, u64 hi);

} // namespace keel::pci
