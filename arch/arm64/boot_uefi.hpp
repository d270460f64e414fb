// arm64 entry from the UEFI boot stage (boot/): x0 holds a BootInfo instead of a DTB.
#pragma once

#include "hypervisor/boot_info.hpp"

namespace keel::arm64 {

// If x0 points to a BootInfo ("KBI1", docs/boot-info.md) from the boot stage, copies it
// into `out` (runs with the MMU off, before the hypervisor's own page tables exist) and
// returns true. A DTB in x0 (magic 0xd00dfeed, big-endian) returns false.
bool take_uefi_boot_info(u64 x0, BootInfo& out);

} // namespace keel::arm64
