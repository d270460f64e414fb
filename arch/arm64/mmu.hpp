// The hypervisor's own EL2 stage-1 translation (identity mapped, 4 KiB granule,
// 48-bit VA, four levels; mm::PageTable<El2Format>). It maps only the image, the
// device-tree blob and the device registers Keel uses; never the partition pool
// (ARCHITECTURE.md).
#pragma once

#include "hypervisor/mm/page_table.hpp"

namespace keel::arm64 {

// Text, ReadOnly, ReadWrite (normal write-back, inner shareable), Device (Device-nGnRE).
using MapKind = mm::HostMap;

// Identity-maps [addr, addr+size) (rounded out to pages). Fails on overlap with a
// different mapping or when the table pool is exhausted.
Status el2_map(u64 addr, u64 size, MapKind kind);
// The image itself where it runs: text RX, rodata R+XN, data/.bss/.noinit RW+XN (from the
// linker's section symbols).
Status el2_map_image();
// Removes an identity mapping (a live update's record and doorbell, in memory the commit
// gives back to the pool), invalidating it in every core's TLB.
void el2_unmap(u64 addr, u64 size);
// The one non-identity mapping: a 2 MiB read-write window at `va` (2 MiB aligned,
// outside RAM) onto the pool block at `pa`, used by the scrubber (under the pool lock),
// the guest loader (boot core) and each core's first-use zeroing (its own window; see
// scrubber.cpp). Unmapping invalidates the VA in every core's TLB (TLBI VAE2IS), so the
// block is unreachable from EL2 again. Every change to the tables is serialised by one
// internal lock once the MMU is on, so any core may call these.
Status el2_window_map(u64 va, u64 pa);
void el2_window_unmap(u64 va);
// The first physical address the EL2 map cannot reach: the CPU's output size (PARange),
// at most 48 bits.
u64 el2_pa_limit();
// Programs MAIR/TCR/TTBR0_EL2 and turns on the MMU, caches and WXN.
void el2_enable_mmu();

} // namespace keel::arm64
