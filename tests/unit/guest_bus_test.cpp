// The VM's PCI hierarchy (drivers/sriov/guest_bus.cpp): ECAM offsets (PCIe Base 6.0 §7.2.2:
// bus [27:20], device [19:15], function [14:12]) reach the root ports on bus 0 and, through
// a port's Secondary Bus Number, device 0 function 0 behind it only while its slot holds a
// card (a link has one device below it; a bridge forwards nothing for a bus it does not name).
#include <gtest/gtest.h>

#include "drivers/sriov/guest_bus.hpp"

namespace keel::sriov {
namespace {

constexpr u32 ecam(u32 bus, u32 dev, u32 fn, u32 reg = 0) {
    return bus << 20 | dev << 15 | fn << 12 | reg;
}
using Kind = GuestBus::Target::Kind;

GuestBus bus() {
    GuestBus b;
    b.reset(0x10000000, 0x100000);
    return b;
}

TEST(GuestBus, RootPortsOnBusZero) {
    const GuestBus b = bus();
    for (u32 dev = 1; dev <= GuestBus::kSlots; ++dev) {
        const GuestBus::Target t = b.route(ecam(0, dev, 0, 0x18));
        EXPECT_EQ(t.kind, Kind::Port) << dev;
        EXPECT_EQ(t.slot, dev - 1);
        EXPECT_EQ(b.port(dev - 1).secondary_bus(), dev);
        EXPECT_EQ(b.port(dev - 1).read(0x20, 4), (0x1000u + (dev - 1) * 0x10) * 0x10001u)
            << "slot k's window: 0x10000000 + k MiB, 1 MiB";
    }
    EXPECT_EQ(b.route(ecam(0, 0, 0)).kind, Kind::None) << "no host bridge function";
    EXPECT_EQ(b.route(ecam(0, GuestBus::kSlots + 1, 0)).kind, Kind::None);
    EXPECT_EQ(b.route(ecam(0, 1, 1)).kind, Kind::None) << "single-function ports";
}

TEST(GuestBus, ACardOnlyWhileTheSlotHoldsOne) {
    GuestBus b = bus();
    EXPECT_EQ(b.route(ecam(2, 0, 0)).kind, Kind::None) << "empty slot";
    MsiMessage m;
    EXPECT_FALSE(b.plug(1, true, false, &m)) << "from reset: no events";
    EXPECT_EQ(b.port(1).slot_status(), u16{RootPortView::kPds});
    GuestBus::Target t = b.route(ecam(2, 0, 0, 0x10));
    EXPECT_EQ(t.kind, Kind::Card);
    EXPECT_EQ(t.slot, 1u);
    EXPECT_EQ(b.route(ecam(2, 1, 0)).kind, Kind::None) << "only device 0 below a link";
    EXPECT_EQ(b.route(ecam(2, 0, 1)).kind, Kind::None) << "one function";
    EXPECT_EQ(b.route(ecam(1, 0, 0)).kind, Kind::None) << "slot 0 still empty";
    // Surprise removal of a running guest's card: gone from config space at once.
    EXPECT_FALSE(b.plug(1, false, true, &m)) << "the guest armed no MSI";
    EXPECT_EQ(b.route(ecam(2, 0, 0)).kind, Kind::None);
    EXPECT_EQ(b.port(1).slot_status(), u16{RootPortView::kPdc | RootPortView::kDllsc});
}

TEST(GuestBus, RequestsFollowTheSecondaryBusTheGuestProgrammed) {
    GuestBus b = bus();
    MsiMessage m;
    b.plug(0, true, false, &m);
    b.port(0).write(0x18, 4, 0x00030300, &m); // primary 0, secondary 3, subordinate 3
    EXPECT_EQ(b.route(ecam(1, 0, 0)).kind, Kind::None);
    const GuestBus::Target t = b.route(ecam(3, 0, 0));
    EXPECT_EQ(t.kind, Kind::Card);
    EXPECT_EQ(t.slot, 0u);
}

TEST(GuestBus, AHotPlugEventInterruptsAnArmedGuest) {
    GuestBus b = bus();
    MsiMessage m;
    RootPortView& p = b.port(2);
    p.write(RootPortView::kMsiAt + 4, 4, 0x08020040, &m);
    p.write(RootPortView::kMsiAt + 12, 2, 50, &m);
    p.write(RootPortView::kMsiAt + 2, 2, 1, &m);
    p.write(RootPortView::kPcieAt + 0x18, 2,
            RootPortView::kHpie | RootPortView::kPdce | RootPortView::kDllsce, &m);
    ASSERT_TRUE(b.plug(2, true, true, &m));
    EXPECT_EQ(m.address, 0x08020040u);
    EXPECT_EQ(m.data, 50u);
    EXPECT_EQ(b.route(ecam(3, 0, 0)).kind, Kind::Card);
}

} // namespace
} // namespace keel::sriov
