// Access to AArch64 system registers by name, as the ARM ARM spells them.
#pragma once

#include "hypervisor/types.hpp"

#define KEEL_READ_SYSREG(name)                                                                     \
    ({                                                                                             \
        ::keel::u64 v_;                                                                            \
        asm volatile("mrs %0, " #name : "=r"(v_));                                                 \
        v_;                                                                                        \
    })
#define KEEL_WRITE_SYSREG(name, value) asm volatile("msr " #name ", %0" ::"r"(::keel::u64(value)))

namespace keel::arm64 {
inline void isb() { asm volatile("isb" ::: "memory"); }
inline void dsb_ish() { asm volatile("dsb ish" ::: "memory"); }
inline void dsb_sy() { asm volatile("dsb sy" ::: "memory"); }

// Cleans [p, p + size) to the point of coherency (D7.5.9), for an observer that reads
// memory without the caches (a core with its MMU off, a device that does not snoop).
inline void clean_to_poc(const void* p, u64 size) {
    constexpr u64 kCacheLine = 64; // the minimum line; CTR_EL0 may say more
    u64 a = reinterpret_cast<u64>(p) & ~(kCacheLine - 1);
    for (const u64 end = reinterpret_cast<u64>(p) + size; a < end; a += kCacheLine)
        asm volatile("dc cvac, %0" ::"r"(a) : "memory");
    dsb_sy();
}
} // namespace keel::arm64
