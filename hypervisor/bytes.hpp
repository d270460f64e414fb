// Small byte-string helpers shared by the boot stage and the hypervisor.
#pragma once

#include "hypervisor/types.hpp"

namespace keel {

// True if every byte is zero. Reads all n bytes whatever they hold (no early exit), so
// checking reserved fields takes the same time for any content.
inline bool all_zero(const u8* p, usize n) {
    u8 acc = 0;
    for (usize i = 0; i < n; ++i)
        acc |= p[i];
    return acc == 0;
}

} // namespace keel
