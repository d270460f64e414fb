// Where the VMs' EPT/NPT table pages come from (vm_arch.cpp). On a first boot, from the
// image; under the mailbox, from a run of the partition pool reserved before any VM exists
// (live_update.cpp), so that the trees outlive the image that built them and an incoming
// image can adopt them in place (docs/handover.md §2.2 OldImage tables_base, §5.1).
#pragma once

#include "hypervisor/mm/table_pool.hpp"
#include "hypervisor/status.hpp"

namespace keel::virt {

constexpr u64 kTableRegionBytes = 2 * MiB;

// `base` (identity-mapped read-write, kTableRegionBytes) becomes the table pool. BadState
// once a table is in use; InvalidArgument for another size, a misaligned base or a second
// region.
[[nodiscard]] Status vm_tables_use_region(u64 base, u64 size);
// The region in use, 0 while the tables come from the image.
u64 vm_tables_region();
// The pool every VM's tables come from (an adopting image claims an adopted tree's pages).
mm::TablePool& vm_table_pool();

} // namespace keel::virt
