// The emulated hot-plug Root Port (drivers/sriov/root_port.cpp), checked against the PCIe
// Base 6.0 register definitions: the type-1 header (§7.5.1.3: header type 01h, bus numbers,
// Memory Base/Limit with address bits [31:20] in [15:4] and [3:0] read-only 0, no I/O or
// prefetchable window when those read 0 after a write), the PCI Express Capability (§7.5.3:
// ID 10h, version 2, Device/Port Type 4 = Root Port, Slot Implemented [8]; Link Capabilities
// DLL Link Active Reporting Capable [20]; Link Status Negotiated Link Width [9:4] and Data
// Link Layer Link Active [13]; Slot Capabilities [5] Hot-Plug Surprise, [6] Hot-Plug Capable,
// [18] No Command Completed Support, [31:19] Physical Slot Number; Slot Control enables;
// Slot Status with RW1C events and read-only Presence Detect State [6]), the MSI capability
// (§7.7.1: ID 05h, 64-bit [7]) and the hot-plug interrupt rule of §6.7.3.4 (one message
// each time "enabled AND HPIE AND some enabled event" goes from false to true).
#include <gtest/gtest.h>

#include "drivers/sriov/root_port.hpp"

namespace keel::sriov {
namespace {

constexpr u32 kCap = RootPortView::kPcieAt, kMsi = RootPortView::kMsiAt;
constexpr u32 kLinkStatus = kCap + 0x12, kSlotCaps = kCap + 0x14, kSlotControl = kCap + 0x18,
              kSlotStatus = kCap + 0x1a;

RootPortView port(bool present = false) {
    RootPortView p;
    p.reset(2, 2, 0x10100000, 0x100000, present);
    return p;
}

// What Linux's pciehp does before it waits for events: MSI at the guest's frame, then
// HPIE + PDCE + DLLSCE.
void arm(RootPortView& p, u16 enables) {
    MsiMessage m;
    EXPECT_FALSE(p.write(kMsi + 4, 4, 0x08020040, &m));
    EXPECT_FALSE(p.write(kMsi + 8, 4, 0, &m));
    EXPECT_FALSE(p.write(kMsi + 12, 2, 49, &m));
    EXPECT_FALSE(p.write(kMsi + 2, 2, 1, &m)) << "MSI Enable";
    p.write(kSlotControl, 2, enables, &m);
}

TEST(RootPort, Type1HeaderOfABridge) {
    const RootPortView p = port();
    EXPECT_EQ(p.read(0x0a, 2), 0x0604u) << "class: PCI-to-PCI bridge";
    EXPECT_EQ(p.read(0x0e, 1), 0x01u) << "header type 1, single function";
    EXPECT_EQ(p.read(0x06, 2) & (1u << 4), 1u << 4) << "capabilities list";
    EXPECT_EQ(p.read(0x34, 1), kCap);
    EXPECT_EQ(p.read(0x18, 1), 0u) << "primary bus";
    EXPECT_EQ(p.read(0x19, 1), 2u) << "secondary bus";
    EXPECT_EQ(p.read(0x1a, 1), 2u) << "subordinate bus";
    EXPECT_EQ(p.read(0x20, 2), 0x1010u) << "memory base 0x10100000";
    EXPECT_EQ(p.read(0x22, 2), 0x1010u) << "memory limit 0x101fffff";
    EXPECT_EQ(p.read(0x10, 4), 0u) << "no BARs";
    EXPECT_EQ(p.read(0x3d, 1), 0u) << "no INTx pin: MSI only";
    EXPECT_EQ(p.read(0x100, 4), 0u) << "no extended capabilities";
}

TEST(RootPort, WindowsAndBusNumbers) {
    RootPortView p = port();
    MsiMessage m;
    p.write(0x20, 4, 0x202f202f, &m);
    EXPECT_EQ(p.read(0x20, 4), 0x20202020u) << "[3:0] read-only 0: 32-bit decode";
    // I/O and prefetchable windows closed from reset: base above limit (a base of 0 with a
    // limit of 0 would be an open window at 0); 16-bit I/O and 32-bit prefetchable ([3:0] 0).
    EXPECT_EQ(p.read(0x1c, 1), 0xf0u);
    EXPECT_EQ(p.read(0x1d, 1), 0x00u);
    EXPECT_EQ(p.read(0x24, 2), 0xfff0u);
    EXPECT_EQ(p.read(0x26, 2), 0x0000u);
    p.write(0x1c, 2, 0x3f2f, &m);
    EXPECT_EQ(p.read(0x1c, 2), 0x3020u) << "address bits read/write, [3:0] read-only";
    p.write(0x24, 4, 0x3001200f, &m);
    EXPECT_EQ(p.read(0x24, 4), 0x30002000u);
    EXPECT_EQ(p.read(0x28, 4), 0u) << "no upper 32 bits";
    p.write(0x19, 1, 7, &m);
    EXPECT_EQ(p.read(0x18, 4) & 0xffffff, 0x020700u);
    EXPECT_EQ(p.secondary_bus(), 7u);
}

TEST(RootPort, PcieCapabilityOfAHotPlugRootPort) {
    const RootPortView p = port();
    EXPECT_EQ(p.read(kCap, 1), 0x10u);
    const u32 caps = p.read(kCap + 2, 2);
    EXPECT_EQ(caps & 0xf, 2u) << "capability version 2";
    EXPECT_EQ((caps >> 4) & 0xf, 4u) << "Root Port";
    EXPECT_NE(caps & (1u << 8), 0u) << "Slot Implemented";
    EXPECT_EQ(p.read(kCap + 1, 1), kMsi) << "next: MSI";
    EXPECT_NE(p.read(kCap + 0x0c, 4) & (1u << 20), 0u) << "DLL Link Active Reporting Capable";
    const u32 slot = p.read(kSlotCaps, 4);
    EXPECT_EQ(slot & 0x1f, 0u) << "no button, power controller, MRL, indicators";
    EXPECT_NE(slot & (1u << 5), 0u) << "Hot-Plug Surprise";
    EXPECT_NE(slot & (1u << 6), 0u) << "Hot-Plug Capable";
    EXPECT_NE(slot & (1u << 18), 0u) << "No Command Completed Support";
    EXPECT_EQ(slot >> 19, 2u) << "Physical Slot Number";
    EXPECT_EQ(p.read(kMsi, 1), 0x05u);
    EXPECT_NE(p.read(kMsi + 2, 2) & (1u << 7), 0u) << "64-bit address";
    EXPECT_EQ(p.read(kMsi + 2, 2) & 0xe, 0u) << "one vector";
}

TEST(RootPort, PresenceAndLinkFollowTheCard) {
    RootPortView p = port();
    EXPECT_EQ(p.read(kSlotStatus, 2), 0u) << "empty from reset: no events";
    EXPECT_EQ(p.read(kLinkStatus, 2) & (1u << 13), 0u);
    MsiMessage m;
    EXPECT_FALSE(p.set_present(true, &m)) << "no MSI enabled";
    const u32 st = p.read(kSlotStatus, 2);
    EXPECT_EQ(st, u32{RootPortView::kPds | RootPortView::kPdc | RootPortView::kDllsc});
    const u32 link = p.read(kLinkStatus, 2);
    EXPECT_NE(link & (1u << 13), 0u) << "Data Link Layer Link Active";
    EXPECT_EQ((link >> 4) & 0x3f, 1u) << "Negotiated Link Width x1";
    EXPECT_EQ(link & (1u << 11), 0u) << "not training";
    // Present from reset (attached before the guest started): state only, no events.
    const RootPortView q = port(true);
    EXPECT_EQ(q.read(kSlotStatus, 2), u32{RootPortView::kPds});
    EXPECT_NE(q.read(kLinkStatus, 2) & (1u << 13), 0u);
}

TEST(RootPort, SlotStatusEventsAreWriteOneToClear) {
    RootPortView p = port();
    MsiMessage m;
    p.set_present(true, &m);
    p.write(kSlotStatus, 2, RootPortView::kPdc, &m);
    EXPECT_EQ(p.read(kSlotStatus, 2), u32{RootPortView::kPds | RootPortView::kDllsc})
        << "only the 1 written clears";
    p.write(kSlotStatus, 2, 0, &m);
    EXPECT_EQ(p.read(kSlotStatus, 2), u32{RootPortView::kPds | RootPortView::kDllsc});
    p.write(kSlotStatus, 2, 0xffff, &m);
    EXPECT_EQ(p.read(kSlotStatus, 2), u32{RootPortView::kPds}) << "PDS is read-only";
    // A 16-bit write to Slot Control leaves Slot Status alone, a 32-bit one clears its 1s.
    p.set_present(false, &m);
    p.write(kSlotControl, 2, RootPortView::kPdce, &m);
    EXPECT_EQ(p.read(kSlotStatus, 2), u32{RootPortView::kPdc | RootPortView::kDllsc});
    p.write(kSlotControl, 4, RootPortView::kPdce | (u32{RootPortView::kDllsc} << 16), &m);
    EXPECT_EQ(p.read(kSlotStatus, 2), u32{RootPortView::kPdc});
    EXPECT_EQ(p.read(kSlotControl, 2), u32{RootPortView::kPdce});
}

TEST(RootPort, SlotControlKeepsOnlyWhatThePortHas) {
    RootPortView p = port();
    MsiMessage m;
    p.write(kSlotControl, 2, 0xffff, &m);
    EXPECT_EQ(p.read(kSlotControl, 2), 0x103fu)
        << "enables, HPIE, DLLSCE; no indicators, power controller or interlock to control";
}

TEST(RootPort, OneMsiPerFalseToTrueEdge) {
    RootPortView p = port();
    arm(p, RootPortView::kHpie | RootPortView::kPdce | RootPortView::kDllsce);
    MsiMessage m;
    ASSERT_TRUE(p.set_present(true, &m)) << "card arrives";
    EXPECT_EQ(m.address, 0x08020040u);
    EXPECT_EQ(m.data, 49u);
    // Events still set: no new message until all enabled events are clear (§6.7.3.4).
    m = MsiMessage{};
    EXPECT_FALSE(p.set_present(false, &m));
    EXPECT_FALSE(p.write(kSlotStatus, 2, RootPortView::kPdc, &m)) << "DLLSC still pending";
    EXPECT_FALSE(p.write(kSlotStatus, 2, RootPortView::kDllsc, &m));
    EXPECT_TRUE(p.set_present(true, &m)) << "after the clear, the next change interrupts";
    EXPECT_FALSE(p.set_present(true, &m)) << "no change, no event";
}

TEST(RootPort, OnlyEnabledEventsInterrupt) {
    RootPortView p = port();
    arm(p, RootPortView::kHpie | RootPortView::kPdce); // DLLSC not enabled
    MsiMessage m;
    ASSERT_TRUE(p.set_present(true, &m));
    p.write(kSlotStatus, 2, RootPortView::kPdc, &m); // DLLSC alone stays set, not enabled
    EXPECT_FALSE(p.write(kSlotControl, 2, RootPortView::kPdce, &m)) << "HPIE off";
    // Turning DLLSCE and HPIE on with DLLSC pending is a false-to-true edge.
    EXPECT_TRUE(p.write(kSlotControl, 2,
                        RootPortView::kHpie | RootPortView::kPdce | RootPortView::kDllsce, &m));
    // Without MSI enabled nothing is sent; enabling it with an event pending is an edge.
    RootPortView q = port();
    q.write(kSlotControl, 2, RootPortView::kHpie | RootPortView::kPdce, &m);
    EXPECT_FALSE(q.set_present(true, &m));
    q.write(kMsi + 4, 4, 0x08020040, &m);
    EXPECT_TRUE(q.write(kMsi + 2, 2, 1, &m));
}

TEST(RootPort, BadAccesses) {
    RootPortView p = port();
    MsiMessage m;
    EXPECT_EQ(p.read(0x21, 2), ~0u) << "misaligned";
    EXPECT_EQ(p.read(0x20, 3), ~0u);
    EXPECT_EQ(p.read(4096, 4), ~0u);
    EXPECT_FALSE(p.write(0x22, 4, 0, &m));
    EXPECT_EQ(p.read(0x20, 4), 0x10101010u) << "unchanged";
    p.write(0x00, 4, 0, &m);
    EXPECT_EQ(p.read(0x00, 4), 0x000c1b36u) << "IDs read-only";
    p.write(kMsi + 4, 4, 0x08020043, &m);
    EXPECT_EQ(p.read(kMsi + 4, 4), 0x08020040u) << "address [1:0] read-only 0";
}

// A live update carries a port as its state (docs/handover.md §2.2 VmPci): a port restored
// from it reads every register the same and raises its next event as the original would.
TEST(RootPort, RestoredFromItsStateItIsTheSamePort) {
    RootPortView p = port();
    arm(p, RootPortView::kHpie | RootPortView::kPdce);
    MsiMessage m;
    (void)p.set_present(true, &m);
    p.write(kSlotStatus, 2, RootPortView::kPdc, &m); // the guest acknowledged one event
    RootPortView q;
    q.restore(p.state());
    for (u32 off = 0; off < 0x100; off += 4)
        EXPECT_EQ(q.read(off, 4), p.read(off, 4)) << "register " << off;
    MsiMessage mp, mq;
    const bool fp = p.set_present(false, &mp), fq = q.set_present(false, &mq);
    EXPECT_EQ(fq, fp) << "the removal interrupts both or neither";
    EXPECT_TRUE(fq) << "PDC's enable and the port's MSI came over";
    EXPECT_EQ(mq.address, mp.address);
    EXPECT_EQ(mq.data, mp.data);
}

} // namespace
} // namespace keel::sriov
