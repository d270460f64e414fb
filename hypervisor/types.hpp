// Fixed-width integer names and distinct address types used across Keel.
// Host physical, guest physical, I/O virtual (what a device's DMA names, translated by
// the IOMMU) and hypervisor virtual addresses are different types so one can never be
// passed where another is expected without a named conversion (../shared/STYLE.md §7).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel {

using u8 = uint8_t;
using u16 = uint16_t;
using u32 = uint32_t;
using u64 = uint64_t;
using i8 = int8_t;
using i16 = int16_t;
using i32 = int32_t;
using i64 = int64_t;
using usize = size_t;
using uptr = uintptr_t;

template <typename Tag>
class Address {
public:
    constexpr Address() = default;
    constexpr explicit Address(u64 value) : value_(value) {}
    [[nodiscard]] constexpr u64 raw() const { return value_; }
    constexpr Address operator+(u64 off) const { return Address(value_ + off); }
    constexpr u64 operator-(Address other) const { return value_ - other.value_; }
    // Explicit comparisons: <compare> is not available to freestanding code.
    constexpr bool operator==(const Address& o) const { return value_ == o.value_; }
    constexpr bool operator!=(const Address& o) const { return value_ != o.value_; }
    constexpr bool operator<(const Address& o) const { return value_ < o.value_; }
    constexpr bool operator<=(const Address& o) const { return value_ <= o.value_; }
    constexpr bool operator>(const Address& o) const { return value_ > o.value_; }
    constexpr bool operator>=(const Address& o) const { return value_ >= o.value_; }
    [[nodiscard]] constexpr bool aligned(u64 align) const { return (value_ & (align - 1)) == 0; }

private:
    u64 value_ = 0;
};

struct HostPhysTag {};
struct GuestPhysTag {};
struct HypVirtTag {};
struct IoVirtTag {};

using PhysAddr = Address<HostPhysTag>;   // host physical
using GuestPhys = Address<GuestPhysTag>; // guest physical (IPA on arm64)
using VirtAddr = Address<HypVirtTag>;    // hypervisor virtual
using IoVirt = Address<IoVirtTag>;       // I/O virtual (device DMA, before the IOMMU)

constexpr u64 KiB = 1024;
constexpr u64 MiB = 1024 * KiB;
constexpr u64 GiB = 1024 * MiB;

constexpr u64 align_up(u64 v, u64 a) { return (v + a - 1) & ~(a - 1); }
constexpr u64 align_down(u64 v, u64 a) { return v & ~(a - 1); }

} // namespace keel
