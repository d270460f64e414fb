// The in-tree test guest a `keel.vm=` definition without a kernel runs. Only the test
// image variant carries one (tests/guest/builtin_guest.cpp); the product image links
// builtin_guest_none.cpp, so keel.img holds product code only (docs/architecture.md).
#pragma once

#include "hypervisor/types.hpp"

namespace keel {

struct GuestBlob {
    const u8* data = nullptr;
    u64 size = 0; // 0: this image has no test guest
};
GuestBlob builtin_test_guest();

} // namespace keel
