// An emulated PCIe Root Port with a hot-plug slot (issue 13 "Hot-plug", docs/sriov.md
// "Hot-plug"): what a guest's pciehp driver sees in front of one assigned VF. A type-1 header
// (PCI-to-PCI Bridge Architecture 1.2 §3.2; PCIe Base 6.0 §7.5.1.3): bus numbers and the
// 32-bit memory window read/write (the window = the slot), a 16-bit I/O and a 32-bit
// prefetchable window read/write but closed from reset (base above limit: nothing behind the
// port has I/O or prefetchable BARs, and Keel routes neither); a PCI
// Express capability (§7.5.3) of a Root Port with Slot Implemented: Link Capabilities with
// Data Link Layer Link Active Reporting, Slot Capabilities Hot-Plug Capable + Hot-Plug
// Surprise + No Command Completed Support (no attention button, power controller, MRL or
// indicators), Slot Control's enables and Slot Status's RW1C events; an MSI capability
// (§7.7.1, 64-bit address, one vector) through which the slot's events interrupt.
// Pure logic, host-tested (tests/unit/root_port_test.cpp).
#pragma once

#include "hypervisor/types.hpp"

namespace keel::sriov {

// The message a port sends: its MSI capability's address and data.
struct MsiMessage {
    u64 address = 0;
    u32 data = 0;
};

// Everything a RootPortView holds, fixed-width (a live update carries it: docs/handover.md
// §2.2 VmPci).
struct RootPortState {
    u32 slot = 0;
    u16 command = 0, bridge_control = 0;
    u8 primary = 0, secondary = 0, subordinate = 0, latency = 0, cache_line = 0, line = 0;
    u8 io_base = 0xf0, io_limit = 0;        // [7:4] = address [15:12]: closed
    u16 mem_base = 0, mem_limit = 0;        // [15:4] = address [31:20]
    u16 pref_base = 0xfff0, pref_limit = 0; // [15:4] = address [31:20]: closed
    u16 dev_control = 0, link_control = 0, slot_control = 0, slot_status = 0;
    u16 root_control = 0;
    u16 msi_control = 0; // Enable [0], Multiple Message Enable [6:4]
    u32 msi_lo = 0, msi_hi = 0;
    u16 msi_data = 0;
    u8 line_was = 0, reserved = 0;
};
static_assert(sizeof(RootPortState) == 48, "docs/handover.md §2.2 VmPci");

class RootPortView {
public:
    static constexpr u32 kPcieAt = 0x40, kMsiAt = 0x80; // where the guest finds them
    // Slot Status (PCIe cap + 1Ah) bits, §7.5.3.11.
    static constexpr u16 kAbp = 1u << 0, kPfd = 1u << 1, kMrlsc = 1u << 2, kPdc = 1u << 3,
                         kCc = 1u << 4, kPds = 1u << 6, kDllsc = 1u << 8;
    // Slot Control (PCIe cap + 18h) bits, §7.5.3.10.
    static constexpr u16 kPdce = 1u << 3, kHpie = 1u << 5, kDllsce = 1u << 12;

    // Out of reset: slot `slot` (its Physical Slot Number and Port Number), secondary and
    // subordinate bus `bus` behind primary bus 0, the memory window [mem_base, +mem_size)
    // (1 MiB aligned), and a card present (a VF attached before the guest runs) or not.
    void reset(u32 slot, u8 bus, u32 mem_base, u32 mem_size, bool present);
    // One aligned access of `size` bytes (1, 2 or 4) at `off` (< 4096); bad ones read all
    // ones and write nothing.
    [[nodiscard]] u32 read(u32 off, u32 size) const;
    // True when the write makes the port send its MSI now (*msg filled).
    bool write(u32 off, u32 size, u32 value, MsiMessage* msg);
    // A card arrives (attach) or leaves without warning (surprise removal): Presence Detect
    // State and Data Link Layer Link Active follow, Presence Detect Changed and Data Link
    // Layer State Changed are set. True when the port sends its MSI now (*msg filled).
    bool set_present(bool present, MsiMessage* msg);

    [[nodiscard]] bool present() const { return (s_.slot_status & kPds) != 0; }
    [[nodiscard]] u8 secondary_bus() const { return s_.secondary; }
    [[nodiscard]] u8 subordinate_bus() const { return s_.subordinate; }
    [[nodiscard]] u16 slot_status() const { return s_.slot_status; }
    [[nodiscard]] u16 slot_control() const { return s_.slot_control; }

    [[nodiscard]] const RootPortState& state() const { return s_; }
    void restore(const RootPortState& s) { s_ = s; }

private:
    [[nodiscard]] u32 dword(u32 off) const;
    void store(u32 at, u32 v, u32 mask);
    // §6.7.3.4: an MSI each time (MSI enabled) AND HPIE AND (some enabled event set) goes
    // from false to true.
    [[nodiscard]] bool interrupt_line() const;
    bool edge(MsiMessage* msg);

    RootPortState s_;
};

} // namespace keel::sriov
