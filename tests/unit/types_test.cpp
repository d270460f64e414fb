// The address types at the boundary are distinct: none converts to another, nor from a
// plain integer, without a named conversion (hypervisor/types.hpp).
#include <gtest/gtest.h>

#include <type_traits>

#include "hypervisor/types.hpp"

namespace keel {
namespace {

template <typename A, typename B>
constexpr bool interchangeable = std::is_convertible_v<A, B> || std::is_convertible_v<B, A>;

static_assert(!interchangeable<PhysAddr, GuestPhys>);
static_assert(!interchangeable<PhysAddr, IoVirt>);
static_assert(!interchangeable<GuestPhys, IoVirt>);
static_assert(!interchangeable<VirtAddr, PhysAddr>);
static_assert(!interchangeable<VirtAddr, IoVirt>);
static_assert(!std::is_convertible_v<u64, IoVirt>);
static_assert(!std::is_convertible_v<IoVirt, u64>);

TEST(AddressTypes, ArithmeticStaysInItsSpace) {
    const IoVirt a(0x1000);
    const IoVirt b = a + 0x234;
    static_assert(std::is_same_v<decltype(a + 1), IoVirt>);
    EXPECT_EQ(b.raw(), 0x1234u);
    EXPECT_EQ(b - a, 0x234u);
    EXPECT_TRUE(a.aligned(4096));
    EXPECT_FALSE(b.aligned(4096));
}

} // namespace
} // namespace keel
