// Writing into pool memory from EL2 (see scrubber.cpp): the zeroing Scrubber is
// arch::pool_scrubber(); this loads bytes (a guest image) into one pool block.
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::arm64 {
// Copies `len` bytes to `offset` inside the 2 MiB pool block at `block`. The caller
// must own the block; only the boot core loads (it has its own window).
Status copy_to_pool_block(PhysAddr block, u64 offset, const void* src, u64 len);
} // namespace keel::arm64
