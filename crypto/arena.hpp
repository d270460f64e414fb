// The only memory mbedTLS ever gets: a fixed static arena with a first-fit allocator.
//
// mbedTLS asks for memory through calloc/free (bignum limbs, ECP points, HMAC pads).
// Keel has no heap after boot, so init() points mbedTLS at one static 32 KiB arena.
// Exhaustion is an ordinary error: calloc returns null and mbedTLS reports an
// ALLOC_FAILED code, which the glue turns into Status::NoMemory. A bad free() is
// counted and ignored, never trusted.
//
// Not thread-safe: callers serialize crypto (boot CPU, or under the mailbox lock).
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::crypto {

struct ArenaStats {
    usize capacity = 0;  // usable bytes (buffer minus the first header)
    usize in_use = 0;    // bytes held by live blocks, headers included
    usize peak = 0;      // highest in_use seen
    usize failures = 0;  // calloc calls that returned null
    usize bad_frees = 0; // free() of a pointer the arena never handed out
};

// First-fit allocator over a caller-owned buffer. Every block starts with a 16-byte
// header holding its size and its predecessor's size, so free() can merge with both
// neighbours in O(1):
//
//   | hdr | payload ... | hdr | payload ... | hdr | (free) ........ |
//   ^buf                                                            ^buf+size
class Arena {
public:
    static constexpr usize kAlign = 16;

    constexpr Arena() = default;
    // Formats `size` bytes at `buf` (rounded down to kAlign) as one free block.
    void reset(void* buf, usize size);

    // Zeroed memory for n*size bytes, or null (overflow, exhaustion, not reset).
    // calloc(0, x) returns a unique minimal block, as C allows.
    [[nodiscard]] void* calloc(usize n, usize size);
    // Releases a block from calloc; null is ignored, foreign pointers are counted.
    void free(void* p);

    [[nodiscard]] const ArenaStats& stats() const { return stats_; }

private:
    struct Header;
    [[nodiscard]] Header* header_of(void* p) const;
    [[nodiscard]] Header* next(Header* h) const;
    [[nodiscard]] Header* prev(Header* h) const;
    void absorb_next(Header* h);

    u8* base_ = nullptr;
    usize size_ = 0;
    ArenaStats stats_{};
};

// Installs the static arena as mbedTLS's allocator. Idempotent; every glue function
// that may allocate calls it, so the order of boot steps does not matter.
Status init();

// The arena init() installed (for boot statistics and tests).
Arena& arena();

} // namespace keel::crypto
