#include "ioapic.hpp"

namespace keel::virt {
namespace {

constexpr u64 kRteMask = 1ull << 16;
// Writable RTE bits: vector 7:0, delivery mode 10:8, destination mode 11, polarity 13,
// trigger mode 15, mask 16, destination 63:56 (delivery status 12 and remote IRR 14 are
// read-only).
constexpr u64 kRteWritable = 0xff000000'0001afffull;

} // namespace

void ioapic_reset(Ioapic& io, u32 id) {
    io = Ioapic{};
    io.id = id;
    for (u64& e : io.rte)
        e = kRteMask;
}

u32 ioapic_read(const Ioapic& io, u64 offset) {
    if (offset == 0x00) return io.select;
    if (offset != 0x10) return 0;
    const u32 r = io.select;
    if (r == 0x00 || r == 0x02) return (io.id & 0xf) << 24;
    if (r == 0x01) return ((kIoapicPins - 1) << 16) | 0x20; // max redirection entry, version
    if (r >= 0x10 && r < 0x10 + 2 * kIoapicPins) {
        const u64 e = io.rte[(r - 0x10) / 2];
        return static_cast<u32>(r % 2 ? e >> 32 : e);
    }
    return 0;
}

void ioapic_write(Ioapic& io, u64 offset, u32 value) {
    if (offset == 0x00) {
        io.select = value & 0xff;
        return;
    }
    if (offset != 0x10) return;
    const u32 r = io.select;
    if (r == 0x00) {
        io.id = (value >> 24) & 0xf;
    } else if (r >= 0x10 && r < 0x10 + 2 * kIoapicPins) {
        u64& e = io.rte[(r - 0x10) / 2];
        const u64 v =
            r % 2 ? (e & 0xffffffffull) | (u64{value} << 32) : (e & ~0xffffffffull) | value;
        e = (e & ~kRteWritable) | (v & kRteWritable);
    }
}

IoapicRoute ioapic_set_line(Ioapic& io, u32 pin, bool high) {
    if (pin >= kIoapicPins) return {};
    const bool was = io.level >> pin & 1;
    io.level = high ? io.level | (1u << pin) : io.level & ~(1u << pin);
    const u64 e = io.rte[pin];
    if (!high || was || (e & kRteMask)) return {};
    return IoapicRoute{true, static_cast<u8>(e & 0xff), static_cast<u8>((e >> 8) & 7),
                       (e >> 11 & 1) != 0, static_cast<u32>(e >> 56)};
}

} // namespace keel::virt
