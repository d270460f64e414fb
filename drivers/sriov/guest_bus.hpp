// The PCI hierarchy a VM sees behind its host bridge (docs/sriov.md "Hot-plug"): kSlots
// emulated root ports on bus 0 at 00:(k+1).0, each in front of one hot-plug slot whose card,
// while present, is device 0 function 0 of the port's secondary bus. Config requests are
// routed the way the ports' bus number registers say (a bridge forwards a request for its
// secondary bus as a type-0 request, and a PCIe link has only device 0 below it: PCIe Base 6.0
// §7.3.1 and §2.2.6.2). Pure logic, host-tested (tests/unit/guest_bus_test.cpp).
#pragma once

#include "drivers/sriov/root_port.hpp"

namespace keel::sriov {

class GuestBus {
public:
    static constexpr u32 kSlots = 4;
    // Out of reset: every slot empty; port k on bus k+1 with the memory window
    // [window + k x slot_size, +slot_size).
    void reset(u32 window, u32 slot_size);
    // What a trapped ECAM access (offset = bus << 20 | device << 15 | function << 12 | reg)
    // reaches: root port `slot`, the card in slot `slot`, or nothing (reads all ones).
    struct Target {
        enum class Kind : u8 { None, Port, Card };
        Kind kind = Kind::None;
        u32 slot = 0;
    };
    [[nodiscard]] Target route(u32 ecam_offset) const;
    [[nodiscard]] RootPortView& port(u32 slot) { return ports_[slot]; }
    [[nodiscard]] const RootPortView& port(u32 slot) const { return ports_[slot]; }
    // The card in `slot` arrives or leaves. `event`: the guest runs, the port raises its
    // slot events (true when it sends its MSI now: *msg); otherwise the port comes out of
    // reset with the card there or not, no events.
    bool plug(u32 slot, bool present, bool event, MsiMessage* msg);
    // What a live update carries (docs/handover.md §2.2 VmPci): the window, each slot's size
    // and every port's state, taken back as they were.
    [[nodiscard]] u32 window() const { return window_; }
    [[nodiscard]] u32 slot_size() const { return slot_size_; }
    void restore(u32 window, u32 slot_size, const RootPortState (&ports)[kSlots]) {
        window_ = window;
        slot_size_ = slot_size;
        for (u32 k = 0; k < kSlots; ++k)
            ports_[k].restore(ports[k]);
    }

private:
    RootPortView ports_[kSlots];
    u32 window_ = 0, slot_size_ = 0;
};

} // namespace keel::sriov
