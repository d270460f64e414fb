// The guest's view of an assigned VF's configuration space (issue 13, docs/sriov.md "Guest
// view"): a type-0 header built from the real VF's identity (PCI Local Bus 3.0 §6.1, PCIe Base
// 6.0 §7.5.1): vendor (the PF's: a VF's own Vendor ID reads FFFFh, §9.3.4.1.1) and VF device
// ID, class, subsystem, Command (memory, bus master, INTx disable kept for the guest; the real
// bits are Keel's), Status with the capability list, BAR0 as a 32-bit memory BAR fixed at
// the guest address Keel mapped (sizing with all-ones answers the size; any other value is
// ignored: the BAR does not move), interrupt pin 0, and one capability, MSI-X, copied from
// the VF (table size, BIR/offsets) with its Enable and Function Mask bits the guest's.
// Everything else reads 0 and ignores writes. Pure logic, host-tested
// (tests/unit/vf_config_test.cpp).
#pragma once

#include "hypervisor/types.hpp"

namespace keel::sriov {

// Fixed-width, no implicit padding: it is part of the handover record (docs/handover.md §2.2
// Vf), like VfViewState and MsixEntryView below.
struct VfIdentity {
    u16 vendor = 0, device = 0;
    u32 class_rev = 0;    // config 08h: revision [7:0], class [31:8]
    u32 subsystem = 0;    // config 2Ch
    u16 msix_control = 0; // its Message Control (table size in [10:0])
    u8 msix = 0;          // the VF has an MSI-X capability (1) or not (0)
    u8 reserved = 0;
    u32 msix_table = 0, msix_pba = 0; // offset | BIR, as in the capability
};
static_assert(sizeof(VfIdentity) == 24, "docs/handover.md §2.2 Vf");

// The guest's MSI-X table and PBA (PCI Local Bus 3.0 §6.8.2.6-6.8.2.10): Keel never maps
// them to the guest, so a guest never programs the VF's real message addresses. Each entry
// the guest writes is kept here (address low/high, data, vector control; entries start
// masked, as after reset). A message that arrives for a vector the guest masks (the vector
// or the whole function) sets the vector's Pending Bit, which the PBA shows, and is sent when
// the guest unmasks it, as the spec asks of a function (§6.8.3.4). At most kMsixEntries
// entries are kept (more read as masked and ignore writes).
struct MsixEntryView {
    u32 addr_lo = 0, addr_hi = 0, data = 0, control = 1; // control bit 0: masked
};

// Everything a VfConfigView holds (a live update carries it: docs/handover.md §2.2 Vf).
struct VfViewState {
    VfIdentity id;
    u32 bar0 = 0, bar0_size = 0;
    u8 sizing = 0, reserved[3] = {};
    u32 command = 0;
    u16 msix_control = 0; // the guest's Enable [15] and Function Mask [14]
    u16 reserved2 = 0;
    u32 pending = 0; // bit i: vector i's Pending Bit
    MsixEntryView msix[8];
};
static_assert(sizeof(VfViewState) == 176, "docs/handover.md §2.2 Vf");

// Whether a guest's MSI (address, data) reaches its interrupt controller, and what it raises
// there (*out; arch::guest_msi).
using GuestMsiFilter = bool (*)(u64 address, u32 data, u32* out);

class VfConfigView {
public:
    static constexpr u32 kMsixAt = 0x40; // where the guest finds the MSI-X capability
    static constexpr u32 kMsixEntries = 8;

    void reset(const VfIdentity& id, u32 bar0, u32 bar0_size);
    // One aligned access of `size` bytes (1, 2 or 4) at `off` (< 4096).
    [[nodiscard]] u32 read(u32 off, u32 size) const;
    void write(u32 off, u32 size, u32 value);
    [[nodiscard]] u32 command() const { return s_.command; }
    [[nodiscard]] bool msix_enabled() const { return (s_.msix_control & 0x8000u) != 0; }
    [[nodiscard]] bool msix_function_masked() const { return (s_.msix_control & 0x4000u) != 0; }
    // BAR0 ranges the guest must not reach directly: [table, +16 x entries) and [pba, +8 x
    // ceil(entries / 64)), as offsets into BAR0 (only a BIR of 0 is handled: others are
    // reported as empty). `*count` ranges are written (0 without MSI-X).
    void msix_ranges(u32 (&start)[2], u32 (&size)[2], u32* count) const;
    // A trapped access at `off` into BAR0: true if it lies in the table or PBA (a read
    // fills *value), false for any other offset (not emulated).
    bool bar0_access(u32 off, u32 size, bool write, u32* value);
    [[nodiscard]] const MsixEntryView& msix_entry(u32 i) const { return s_.msix[i]; }
    // Where the guest wants vector `i`'s message now: true with *out when MSI-X is enabled,
    // the function and the vector are unmasked, and `accept` takes the entry's address and
    // data (a message the guest's interrupt controller receives; *out: what to raise there,
    // arch::guest_msi); false otherwise.
    [[nodiscard]] bool msi_target(u32 i, GuestMsiFilter accept, u32* out) const;
    // A message of vector `i` arrived from the device. Deliver (*out: what to raise), Pending
    // (masked: its Pending Bit set, sent when unmasked) or Dropped (MSI-X off, a vector past
    // those kept, or a message `accept` refuses: the guest asked for nothing Keel sends).
    enum class Arrival : u8 { Deliver, Pending, Dropped };
    Arrival msi_arrived(u32 i, GuestMsiFilter accept, u32* out);
    // After a guest write that may have unmasked vectors: each pending one that can be sent
    // now, its bit cleared and what to raise in `out`; returns how many.
    u32 take_unmasked(GuestMsiFilter accept, u32 (&out)[8]);

    // The whole view, as a live update hands it over and takes it back.
    [[nodiscard]] const VfViewState& state() const { return s_; }
    void restore(const VfViewState& s) { s_ = s; }

private:
    [[nodiscard]] u32 dword(u32 off) const;
    VfViewState s_;
};
static_assert(VfConfigView::kMsixEntries == sizeof VfViewState{}.msix / sizeof(MsixEntryView));

} // namespace keel::sriov
