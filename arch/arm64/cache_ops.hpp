// Data-cache maintenance by VA to the point of coherency (ARM ARM D7.5.9): for memory that
// is read with the MMU off, or was written with it off and is about to be read cacheable.
#pragma once

#include "cache_range.hpp"

namespace keel::arm64 {

enum class DcOp { Clean, CleanInvalidate };

// One DC operation on every line of [va, va+size) (rounded out to the smallest line
// CTR_EL0 may report), then waits for completion.
template <DcOp Op>
inline void dcache_by_va_poc(u64 va, u64 size) {
    constexpr u64 kLine = 64;
    const LineRange r = line_range(va, size, kLine);
    for (u64 a = r.first; a < r.end; a += kLine) {
        if constexpr (Op == DcOp::CleanInvalidate)
            asm volatile("dc civac, %0" ::"r"(a) : "memory");
        else
            asm volatile("dc cvac, %0" ::"r"(a) : "memory");
    }
    asm volatile("dsb sy" ::: "memory");
}

// Cleans and invalidates: for memory written with the MMU off and read cacheable next.
inline void dcache_clean_inval_poc(u64 va, u64 size) {
    dcache_by_va_poc<DcOp::CleanInvalidate>(va, size);
}

// Cleans (the data stays cached), for an observer that reads memory without the caches:
// a core with its MMU off, a device that does not snoop.
inline void dcache_clean_poc(u64 va, u64 size) { dcache_by_va_poc<DcOp::Clean>(va, size); }

} // namespace keel::arm64
