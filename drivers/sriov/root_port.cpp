#include "drivers/sriov/root_port.hpp"

namespace keel::sriov {
namespace {
constexpr u32 kIds = 0x000c1b36;   // QEMU's ID for a generic PCIe Root Port (docs/sriov.md)
constexpr u32 kClass = 0x06040000; // bridge, PCI-to-PCI, interface 0; revision 0
constexpr u16 kCommandRw = (1u << 1) | (1u << 2) | (1u << 6) | (1u << 8) | (1u << 10);
constexpr u16 kStatusCapList = 1u << 4;
constexpr u16 kBridgeControlRw = 0x0fff & ~(1u << 7) & ~(1u << 5); // reserved 5 and 7
// PCI Express Capabilities: version 2, Root Port (4), Slot Implemented.
constexpr u16 kPcieCaps = 2 | (4u << 4) | (1u << 8);
constexpr u32 kDevCaps = 1u << 15;    // Role-Based Error Reporting; 128-byte payload
constexpr u16 kDevControlRw = 0x7cff; // error enables, MPS, MRRS, relaxed ordering, ...
constexpr u32 kLinkCaps = 1 | (1u << 4) | (1u << 20); // 2.5 GT/s, x1, DLL Link Active Reporting
constexpr u16 kLinkControlRw = 0x0fcb; // ASPM, RCB, common clock, ... (no Link Disable)
constexpr u16 kLinkUp = 1 | (1u << 4); // 2.5 GT/s, x1
constexpr u16 kDllla = 1u << 13;       // Link Status: Data Link Layer Link Active
constexpr u32 kSlotCaps = (1u << 5) | (1u << 6) | (1u << 18); // HP Surprise, HP Capable, NCCS
constexpr u16 kSlotControlRw = 0x003f | (1u << 12);           // event enables, HPIE, DLLSCE
constexpr u16 kSlotEvents = RootPortView::kAbp | RootPortView::kPfd | RootPortView::kMrlsc |
                            RootPortView::kPdc | RootPortView::kCc | RootPortView::kDllsc;
constexpr u16 kRootControlRw = 0x000f;
constexpr u16 kMsiControlRw = 0x0071; // Enable, Multiple Message Enable
constexpr u16 kMsi64 = 1u << 7;       // 64-bit address capable, one vector
} // namespace

void RootPortView::reset(u32 slot, u8 bus, u32 mem_base, u32 mem_size, bool present) {
    *this = RootPortView{};
    s_.slot = slot;
    s_.secondary = s_.subordinate = bus;
    s_.mem_base = static_cast<u16>((mem_base >> 16) & 0xfff0);
    s_.mem_limit = static_cast<u16>(((mem_base + mem_size - 1) >> 16) & 0xfff0);
    if (present) s_.slot_status = kPds;
}

u32 RootPortView::dword(u32 off) const {
    const u32 link_status = present() ? (kLinkUp | kDllla) : 0;
    switch (off) {
    case 0x00: return kIds;
    case 0x04: return s_.command | (static_cast<u32>(kStatusCapList) << 16);
    case 0x08: return kClass;
    case 0x0c: return s_.cache_line | (1u << 16); // header type 1, one function
    case 0x18:
        return s_.primary | (static_cast<u32>(s_.secondary) << 8) |
               (static_cast<u32>(s_.subordinate) << 16) | (static_cast<u32>(s_.latency) << 24);
    case 0x1c: return s_.io_base | (static_cast<u32>(s_.io_limit) << 8); // secondary status 0
    case 0x20: return s_.mem_base | (static_cast<u32>(s_.mem_limit) << 16);
    case 0x24: return s_.pref_base | (static_cast<u32>(s_.pref_limit) << 16);
    case 0x34: return kPcieAt;
    case 0x3c: return s_.line | (static_cast<u32>(s_.bridge_control) << 16); // no INTx pin
    case kPcieAt: return 0x10 | (kMsiAt << 8) | (static_cast<u32>(kPcieCaps) << 16);
    case kPcieAt + 0x04: return kDevCaps;
    case kPcieAt + 0x08: return s_.dev_control;
    case kPcieAt + 0x0c: return kLinkCaps | (s_.slot << 24);
    case kPcieAt + 0x10: return s_.link_control | (link_status << 16);
    case kPcieAt + 0x14: return kSlotCaps | ((s_.slot & 0x1fff) << 19);
    case kPcieAt + 0x18: return s_.slot_control | (static_cast<u32>(s_.slot_status) << 16);
    case kPcieAt + 0x1c: return s_.root_control;
    case kPcieAt + 0x2c: return 1u << 1; // Supported Link Speeds: 2.5 GT/s
    case kPcieAt + 0x30: return 1;       // Target Link Speed 2.5 GT/s
    case kMsiAt: return 0x05 | (static_cast<u32>(s_.msi_control | kMsi64) << 16);
    case kMsiAt + 0x4: return s_.msi_lo;
    case kMsiAt + 0x8: return s_.msi_hi;
    case kMsiAt + 0xc: return s_.msi_data;
    default: return 0;
    }
}

u32 RootPortView::read(u32 off, u32 size) const {
    if (off >= 4096 || (size != 1 && size != 2 && size != 4) || off % size != 0) return ~0u;
    const u32 v = dword(off & ~3u) >> (8 * (off & 3));
    return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

void RootPortView::store(u32 at, u32 v, u32 mask) {
    auto keep16 = [](u16& reg, u32 bits, u32 m, u16 rw) {
        reg = static_cast<u16>((reg & ~(m & rw)) | (bits & m & rw));
    };
    auto keep8 = [](u8& reg, u32 bits, u32 m) { reg = static_cast<u8>((reg & ~m) | (bits & m)); };
    switch (at) {
    case 0x04: keep16(s_.command, v, mask, kCommandRw); break; // Status: nothing to clear
    case 0x0c: keep8(s_.cache_line, v, mask & 0xff); break;
    case 0x18:
        keep8(s_.primary, v, mask & 0xff);
        keep8(s_.secondary, v >> 8, (mask >> 8) & 0xff);
        keep8(s_.subordinate, v >> 16, (mask >> 16) & 0xff);
        keep8(s_.latency, v >> 24, (mask >> 24) & 0xff);
        break;
    case 0x1c:
        keep8(s_.io_base, v & 0xf0, mask & 0xf0);
        keep8(s_.io_limit, (v >> 8) & 0xf0, (mask >> 8) & 0xf0);
        break;
    case 0x20:
        keep16(s_.mem_base, v, mask, 0xfff0);
        keep16(s_.mem_limit, v >> 16, mask >> 16, 0xfff0);
        break;
    case 0x24:
        keep16(s_.pref_base, v, mask, 0xfff0);
        keep16(s_.pref_limit, v >> 16, mask >> 16, 0xfff0);
        break;
    case 0x3c:
        keep8(s_.line, v, mask & 0xff);
        keep16(s_.bridge_control, v >> 16, mask >> 16, kBridgeControlRw);
        break;
    case kPcieAt + 0x08: keep16(s_.dev_control, v, mask, kDevControlRw); break;
    case kPcieAt + 0x10: keep16(s_.link_control, v, mask, kLinkControlRw); break;
    case kPcieAt + 0x18:
        keep16(s_.slot_control, v, mask, kSlotControlRw);
        // RW1C: a 1 clears the event, a 0 leaves it; state bits (PDS) are read-only.
        s_.slot_status =
            static_cast<u16>(s_.slot_status & ~((v >> 16) & (mask >> 16) & kSlotEvents));
        break;
    case kPcieAt + 0x1c: keep16(s_.root_control, v, mask, kRootControlRw); break;
    case kMsiAt: keep16(s_.msi_control, v >> 16, mask >> 16, kMsiControlRw); break;
    case kMsiAt + 0x4: s_.msi_lo = (s_.msi_lo & ~mask) | (v & mask & ~3u); break;
    case kMsiAt + 0x8: s_.msi_hi = (s_.msi_hi & ~mask) | (v & mask); break;
    case kMsiAt + 0xc: keep16(s_.msi_data, v, mask, 0xffff); break;
    default: break; // read-only or reserved
    }
}

bool RootPortView::write(u32 off, u32 size, u32 value, MsiMessage* msg) {
    if (off >= 4096 || (size != 1 && size != 2 && size != 4) || off % size != 0) return false;
    const u32 shift = 8 * (off & 3);
    const u32 mask = (size == 4 ? ~0u : ((1u << (8 * size)) - 1)) << shift;
    store(off & ~3u, (value << shift) & mask, mask);
    return edge(msg);
}

bool RootPortView::set_present(bool present, MsiMessage* msg) {
    if (present == this->present()) return false;
    s_.slot_status = static_cast<u16>((present ? s_.slot_status | kPds : s_.slot_status & ~kPds) |
                                      kPdc | kDllsc);
    return edge(msg);
}

bool RootPortView::interrupt_line() const {
    const u16 enabled =
        static_cast<u16>((s_.slot_control & 0x1f) | ((s_.slot_control & kDllsce) ? kDllsc : 0));
    return (s_.msi_control & 1u) != 0 && (s_.slot_control & kHpie) != 0 &&
           (s_.slot_status & kSlotEvents & enabled) != 0;
}

bool RootPortView::edge(MsiMessage* msg) {
    const bool line = interrupt_line();
    const bool fire = line && !s_.line_was;
    s_.line_was = line;
    if (fire) *msg = MsiMessage{static_cast<u64>(s_.msi_hi) << 32 | s_.msi_lo, s_.msi_data};
    return fire;
}

} // namespace keel::sriov
