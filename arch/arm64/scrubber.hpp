// Writing into pool memory from EL2 (see scrubber.cpp): the zeroing Scrubber is
// arch::pool_scrubber(); this loads bytes (a guest image) into one pool block.
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::arm64 {
// Zeroes one 2 MiB pool block (and cleans it to the point of coherency, as the scrubber
// does) through the calling core's own window: VM RAM on first use (vm_arch.cpp), from
// any core, no lock held. The caller must own the block (a VM's RAM, the manager's
// allocation) and be the only one zeroing it (RamBlocks::claim).
Status zero_block_first_use(PhysAddr block);
// Copies `len` bytes to `offset` inside the 2 MiB pool block at `block`. The caller
// must own the block; only the boot core loads (it has its own window).
Status copy_to_pool_block(PhysAddr block, u64 offset, const void* src, u64 len);
// Copies `len` bytes from the hypervisor's memory to pool memory at `dst` (any
// alignment, any number of blocks). Boot core only.
Status copy_to_pool(PhysAddr dst, const void* src, u64 len);
// Copies host-physical memory outside the hypervisor's mappings (a guest source the
// QEMU loader left in RAM, reserved from the pool) to pool memory, through a second,
// read-only use of a window. Boot core only.
Status copy_phys_to_pool(PhysAddr dst, PhysAddr src, u64 len);
// Reads `len` bytes of host-physical memory (at most up to the end of its 2 MiB block).
Status read_phys(PhysAddr src, void* out, u64 len);
} // namespace keel::arm64
