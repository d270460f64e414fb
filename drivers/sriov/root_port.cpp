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
    slot_ = slot;
    secondary_ = subordinate_ = bus;
    mem_base_ = static_cast<u16>((mem_base >> 16) & 0xfff0);
    mem_limit_ = static_cast<u16>(((mem_base + mem_size - 1) >> 16) & 0xfff0);
    if (present) slot_status_ = kPds;
}

u32 RootPortView::dword(u32 off) const {
    const u32 link_status = present() ? (kLinkUp | kDllla) : 0;
    switch (off) {
    case 0x00: return kIds;
    case 0x04: return command_ | (static_cast<u32>(kStatusCapList) << 16);
    case 0x08: return kClass;
    case 0x0c: return cache_line_ | (1u << 16); // header type 1, one function
    case 0x18:
        return primary_ | (static_cast<u32>(secondary_) << 8) |
               (static_cast<u32>(subordinate_) << 16) | (static_cast<u32>(latency_) << 24);
    case 0x1c: return io_base_ | (static_cast<u32>(io_limit_) << 8); // secondary status 0
    case 0x20: return mem_base_ | (static_cast<u32>(mem_limit_) << 16);
    case 0x24: return pref_base_ | (static_cast<u32>(pref_limit_) << 16);
    case 0x34: return kPcieAt;
    case 0x3c: return line_ | (static_cast<u32>(bridge_control_) << 16); // no INTx pin
    case kPcieAt: return 0x10 | (kMsiAt << 8) | (static_cast<u32>(kPcieCaps) << 16);
    case kPcieAt + 0x04: return kDevCaps;
    case kPcieAt + 0x08: return dev_control_;
    case kPcieAt + 0x0c: return kLinkCaps | (slot_ << 24);
    case kPcieAt + 0x10: return link_control_ | (link_status << 16);
    case kPcieAt + 0x14: return kSlotCaps | ((slot_ & 0x1fff) << 19);
    case kPcieAt + 0x18: return slot_control_ | (static_cast<u32>(slot_status_) << 16);
    case kPcieAt + 0x1c: return root_control_;
    case kPcieAt + 0x2c: return 1u << 1; // Supported Link Speeds: 2.5 GT/s
    case kPcieAt + 0x30: return 1;       // Target Link Speed 2.5 GT/s
    case kMsiAt: return 0x05 | (static_cast<u32>(msi_control_ | kMsi64) << 16);
    case kMsiAt + 0x4: return msi_lo_;
    case kMsiAt + 0x8: return msi_hi_;
    case kMsiAt + 0xc: return msi_data_;
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
    case 0x04: keep16(command_, v, mask, kCommandRw); break; // Status: nothing to clear
    case 0x0c: keep8(cache_line_, v, mask & 0xff); break;
    case 0x18:
        keep8(primary_, v, mask & 0xff);
        keep8(secondary_, v >> 8, (mask >> 8) & 0xff);
        keep8(subordinate_, v >> 16, (mask >> 16) & 0xff);
        keep8(latency_, v >> 24, (mask >> 24) & 0xff);
        break;
    case 0x1c:
        keep8(io_base_, v & 0xf0, mask & 0xf0);
        keep8(io_limit_, (v >> 8) & 0xf0, (mask >> 8) & 0xf0);
        break;
    case 0x20:
        keep16(mem_base_, v, mask, 0xfff0);
        keep16(mem_limit_, v >> 16, mask >> 16, 0xfff0);
        break;
    case 0x24:
        keep16(pref_base_, v, mask, 0xfff0);
        keep16(pref_limit_, v >> 16, mask >> 16, 0xfff0);
        break;
    case 0x3c:
        keep8(line_, v, mask & 0xff);
        keep16(bridge_control_, v >> 16, mask >> 16, kBridgeControlRw);
        break;
    case kPcieAt + 0x08: keep16(dev_control_, v, mask, kDevControlRw); break;
    case kPcieAt + 0x10: keep16(link_control_, v, mask, kLinkControlRw); break;
    case kPcieAt + 0x18:
        keep16(slot_control_, v, mask, kSlotControlRw);
        // RW1C: a 1 clears the event, a 0 leaves it; state bits (PDS) are read-only.
        slot_status_ = static_cast<u16>(slot_status_ & ~((v >> 16) & (mask >> 16) & kSlotEvents));
        break;
    case kPcieAt + 0x1c: keep16(root_control_, v, mask, kRootControlRw); break;
    case kMsiAt: keep16(msi_control_, v >> 16, mask >> 16, kMsiControlRw); break;
    case kMsiAt + 0x4: msi_lo_ = (msi_lo_ & ~mask) | (v & mask & ~3u); break;
    case kMsiAt + 0x8: msi_hi_ = (msi_hi_ & ~mask) | (v & mask); break;
    case kMsiAt + 0xc: keep16(msi_data_, v, mask, 0xffff); break;
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
    slot_status_ =
        static_cast<u16>((present ? slot_status_ | kPds : slot_status_ & ~kPds) | kPdc | kDllsc);
    return edge(msg);
}

bool RootPortView::interrupt_line() const {
    const u16 enabled =
        static_cast<u16>((slot_control_ & 0x1f) | ((slot_control_ & kDllsce) ? kDllsc : 0));
    return (msi_control_ & 1u) != 0 && (slot_control_ & kHpie) != 0 &&
           (slot_status_ & kSlotEvents & enabled) != 0;
}

bool RootPortView::edge(MsiMessage* msg) {
    const bool line = interrupt_line();
    const bool fire = line && !line_was_;
    line_was_ = line;
    if (fire) *msg = MsiMessage{static_cast<u64>(msi_hi_) << 32 | msi_lo_, msi_data_};
    return fire;
}

} // namespace keel::sriov
