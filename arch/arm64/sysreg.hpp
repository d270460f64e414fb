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
} // namespace keel::arm64
