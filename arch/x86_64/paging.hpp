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

} // namespace keel::x86
