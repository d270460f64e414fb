// The hypervisor's own page tables (4-level, 4 KiB pages, identity mapped;
// mm::PageTable<PagingFormat>). They map the image with W^X permissions and, on demand,
// the firmware tables Keel reads; the RAM outside the image stays unmapped (later work
// hands it to partitions).
#pragma once

#include "hypervisor/mm/page_table.hpp"

namespace keel::x86 {

// Text, ReadOnly (rodata, ACPI tables), ReadWrite, Device (uncached: PCD|PWT).
using MapKind = mm::HostMap;

// Builds the tables for the running image (text RX, rodata R, data/bss RW, the stack
// guard page left out) and switches CR3 to them with CR0.WP and EFER.NXE on.
Status paging_init();
// paging_init in two halves, for a live update's incoming image (docs/handover.md §5.1): the
// tables built (nothing switched), then, once it stays, switched to on each CPU: CR0.WP and
// the root in CR3 (the first call also marks them live).
Status paging_build();
void paging_switch();
// Identity-maps [pa, pa+size) rounded out to pages. Safe on any CPU (one lock). Mapping a page
// again with the same kind is a no-op; with a different kind it fails (AlreadyExists).
Status map_phys(u64 pa, u64 size, MapKind kind);
// Removes the identity mapping of [pa, pa+size) (rounded out to pages) and INVLPGs each
// page on this CPU; page-table pages that become empty go back to the table pool.
// Together with map_phys this gives transient access to memory the hypervisor does not
// keep mapped (guest RAM, the AP trampoline page). Pages that were not mapped are skipped.
Status unmap_phys(u64 pa, u64 size);
// True if `va` is mapped in the hypervisor's tables (after paging_init).
[[nodiscard]] bool is_mapped(u64 va);

// Per-CPU windows (issue 10 item 11): transient access to memory no other CPU may see
// changed under it (guest RAM during exit handling). Every CPU has its own range of
// kWindowPages pages at kWindowBase + slot * kWindowPages * 4096, outside the identity map:
// no other CPU ever uses those addresses, so mapping and unmapping there needs only this
// CPU's INVLPG, and two CPUs touching the same guest page at once each have their own
// mapping. The windows share one page table, made once and kept; each CPU writes its own
// window's entries directly (no lock, no page-table walk).
inline constexpr u64 kWindowBase = 0x7f8000000000ull; // the last PML4 slot of the lower half
inline constexpr u64 kWindowPages = 64;
// Maps [pa, pa+size) (within kWindowPages pages once rounded out) into this CPU's window
// and returns the address of pa's byte there. One mapping per CPU at a time: Busy while
// the window is in use, InvalidArgument when the range does not fit.
Result<u8*> window_map(u64 pa, u64 size, MapKind kind);
// Unmaps this CPU's window (INVLPG of each page, this CPU only).
void window_unmap();

// Shared identity mappings changed by unmap_phys: every other CPU must drop what its TLB and
// paging-structure caches hold of them before its host code runs again. unmap_phys raises a
// generation; each CPU calls tlb_catch_up() where host code resumes (every VM exit, the idle
// and SIPI waits), which reloads CR3 (no mapping here is global) when it is behind.
void tlb_catch_up();

} // namespace keel::x86
