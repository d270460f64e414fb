// The test image's built-in guest (hypervisor/vm/builtin_guest.hpp): the arch's in-tree
// test guest, embedded with .incbin by the arch's blob file (tests/guest/<arch>/).
#include "hypervisor/vm/builtin_guest.hpp"

extern "C" const char keel_test_guest_start[], keel_test_guest_end[];

namespace keel {
GuestBlob builtin_test_guest() {
    return {reinterpret_cast<const u8*>(keel_test_guest_start),
            static_cast<u64>(keel_test_guest_end - keel_test_guest_start)};
}
} // namespace keel
