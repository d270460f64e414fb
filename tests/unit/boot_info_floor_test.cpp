// The floor a live update's image must meet (hypervisor/boot_info.hpp update_floor,
// docs/boot-info.md security_floor): the boot stage's persistent floor when it passed one,
// never below the image's built-in floor, and nothing from a producer that did not set the
// flag (a direct boot leaves the field zero, an older stage leaves it reserved).
#include "hypervisor/boot_info.hpp"

#include <gtest/gtest.h>

namespace keel {
namespace {

TEST(BootInfoFloor, TheStagesFloorRaisesTheBuiltInOne) {
    BootInfo bi{};
    bi.flags = BootInfo::kFlagVerified | BootInfo::kFlagSecurityFloor;
    bi.security_floor = 5;
    EXPECT_EQ(update_floor(bi, 1), 5u) << "an update to security version 3 must be refused";
    bi.security_floor = 0;
    EXPECT_EQ(update_floor(bi, 2), 2u) << "never below the image's own floor";
}

TEST(BootInfoFloor, WithoutTheFlagTheFieldIsNotRead) {
    BootInfo bi{};
    bi.security_floor = 9; // e.g. bytes of an older stage's reserved area
    EXPECT_EQ(update_floor(bi, 1), 1u);
}

TEST(BootInfoFloor, ItSitsInTheFormerReservedBytes) {
    // docs/boot-info.md: offset 1968, then 12 reserved bytes to the same 1,984-byte total.
    EXPECT_EQ(__builtin_offsetof(BootInfo, security_floor), 1968u);
    EXPECT_EQ(__builtin_offsetof(BootInfo, reserved1), 1972u);
    EXPECT_EQ(sizeof(BootInfo), 1984u);
    EXPECT_EQ(BootInfo::kFlagSecurityFloor, 1u << 5);
}

} // namespace
} // namespace keel
