#include "drivers/sriov/vf_config.hpp"

namespace keel::sriov {
namespace {
constexpr u32 kCommandGuest = (1u << 1) | (1u << 2) | (1u << 10); // memory, master, INTx off
constexpr u32 kStatusCapList = 1u << 4;
constexpr u16 kMsixGuestBits = 0xc000; // Enable, Function Mask
} // namespace

void VfConfigView::reset(const VfIdentity& id, u32 bar0, u32 bar0_size) {
    s_.id = id;
    s_.bar0 = bar0;
    s_.bar0_size = bar0_size;
    s_.sizing = false;
    s_.command = 0;
    s_.msix_control = 0;
    for (MsixEntryView& e : s_.msix)
        e = MsixEntryView{};
}

void VfConfigView::msix_ranges(u32 (&start)[2], u32 (&size)[2], u32* count) const {
    *count = 0;
    if (!s_.id.msix) return;
    const u32 entries = (s_.id.msix_control & 0x7ffu) + 1;
    if ((s_.id.msix_table & 7u) == 0) {
        start[*count] = s_.id.msix_table & ~7u;
        size[(*count)++] = 16 * entries;
    }
    if ((s_.id.msix_pba & 7u) == 0) {
        start[*count] = s_.id.msix_pba & ~7u;
        size[(*count)++] = 8 * ((entries + 63) / 64);
    }
}

bool VfConfigView::msi_target(u32 i, GuestMsiFilter accept, u32* out) const {
    if (i >= kMsixEntries || !msix_enabled() || msix_function_masked()) return false;
    const MsixEntryView& e = s_.msix[i];
    return (e.control & 1u) == 0 &&
           accept(static_cast<u64>(e.addr_hi) << 32 | e.addr_lo, e.data, out);
}

VfConfigView::Arrival VfConfigView::msi_arrived(u32 i, GuestMsiFilter accept, u32* out) {
    if (msi_target(i, accept, out)) return Arrival::Deliver;
    if (i >= kMsixEntries || !msix_enabled()) return Arrival::Dropped;
    const MsixEntryView& e = s_.msix[i];
    u32 unused = 0;
    if (!accept(static_cast<u64>(e.addr_hi) << 32 | e.addr_lo, e.data, &unused))
        return Arrival::Dropped;
    s_.pending |= 1u << i; // masked (the vector or the function): held for the unmask
    return Arrival::Pending;
}

u32 VfConfigView::take_unmasked(GuestMsiFilter accept, u32 (&out)[8]) {
    u32 n = 0;
    for (u32 i = 0; i < kMsixEntries; ++i)
        if ((s_.pending >> i & 1) != 0 && msi_target(i, accept, &out[n])) {
            s_.pending &= ~(1u << i);
            ++n;
        }
    return n;
}

bool VfConfigView::bar0_access(u32 off, u32 size, bool write, u32* value) {
    u32 start[2], len[2], n = 0;
    msix_ranges(start, len, &n);
    if (size != 4 || off % 4 != 0) return false; // the spec allows dword (and qword) accesses
    for (u32 r = 0; r < n; ++r) {
        if (off < start[r] || off - start[r] >= len[r]) continue;
        const u32 rel = off - start[r];
        const bool table = start[r] == (s_.id.msix_table & ~7u) && (s_.id.msix_table & 7u) == 0;
        if (!table) { // the PBA: read-only, bit i of its first qword vector i's Pending Bit
            if (!write) *value = rel == 0 ? s_.pending : 0;
            return true;
        }
        const u32 i = rel / 16, word = (rel % 16) / 4;
        if (i >= kMsixEntries) {
            if (!write) *value = word == 3 ? 1u : 0u;
            return true;
        }
        u32* w[4] = {&s_.msix[i].addr_lo, &s_.msix[i].addr_hi, &s_.msix[i].data,
                     &s_.msix[i].control};
        if (!write)
            *value = *w[word];
        else
            *w[word] = word == 0 ? (*value & ~3u) : word == 3 ? (*value & 1u) : *value;
        return true;
    }
    return false;
}

u32 VfConfigView::dword(u32 off) const {
    switch (off) {
    case 0x00: return s_.id.vendor | (static_cast<u32>(s_.id.device) << 16);
    case 0x04: return s_.command | (s_.id.msix ? (kStatusCapList << 16) : 0);
    case 0x08: return s_.id.class_rev;
    case 0x0c: return 0;                                         // header type 0, single function
    case 0x10: return s_.sizing ? ~(s_.bar0_size - 1) : s_.bar0; // memory, 32-bit, not prefetchable
    case 0x2c: return s_.id.subsystem;
    case 0x34: return s_.id.msix ? kMsixAt : 0;
    default: break;
    }
    if (!s_.id.msix) return 0;
    if (off == kMsixAt)
        return 0x11u |
               (static_cast<u32>((s_.id.msix_control & ~kMsixGuestBits) | s_.msix_control) << 16);
    if (off == kMsixAt + 4) return s_.id.msix_table;
    if (off == kMsixAt + 8) return s_.id.msix_pba;
    return 0;
}

u32 VfConfigView::read(u32 off, u32 size) const {
    if (off >= 4096 || (size != 1 && size != 2 && size != 4) || off % size != 0) return ~0u;
    const u32 v = dword(off & ~3u) >> (8 * (off & 3));
    return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

void VfConfigView::write(u32 off, u32 size, u32 value) {
    if (off >= 4096 || (size != 1 && size != 2 && size != 4) || off % size != 0) return;
    const u32 at = off & ~3u, shift = 8 * (off & 3);
    const u32 mask = (size == 4 ? ~0u : ((1u << (8 * size)) - 1)) << shift;
    const u32 v = (value << shift) & mask;
    if (at == 0x04 && (mask & 0xffff)) {
        s_.command = (s_.command & ~(mask & kCommandGuest)) | (v & kCommandGuest);
    } else if (at == 0x10 && mask == ~0u) {
        // All ones asks the size; the address Keel mapped is the only other value kept.
        s_.sizing = (v & ~0xfu) == (~0u & ~0xfu);
    } else if (s_.id.msix && at == kMsixAt && (mask >> 16) != 0) {
        const u16 ctl = static_cast<u16>((v & mask) >> 16);
        const u16 m = static_cast<u16>(mask >> 16);
        s_.msix_control = static_cast<u16>((s_.msix_control & ~(m & kMsixGuestBits)) |
                                           (ctl & m & kMsixGuestBits));
    }
}

} // namespace keel::sriov
