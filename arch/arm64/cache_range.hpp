// The cache lines a by-VA maintenance loop must visit for [va, va+size): from the line
// holding the first byte to the end of the line holding the last, and not one line more
// (a copy that ends on a 2 MiB boundary must not touch the next, unmapped, block: issue
// 10 item 9). Pure: host-tested (tests/unit/arm64_cache_range_test.cpp).
#pragma once

#include "hypervisor/types.hpp"

namespace keel::arm64 {

struct LineRange {
    u64 first; // line-aligned
    u64 end;   // line-aligned, exclusive; == first for an empty range
};

constexpr LineRange line_range(u64 va, u64 size, u64 line) {
    if (size == 0) return {align_down(va, line), align_down(va, line)};
    return {align_down(va, line), align_up(va + size, line)};
}

} // namespace keel::arm64
