#include "drivers/sriov/sriov_cap.hpp"

namespace keel::sriov {

Result<u32> find_ext_cap(pci::ConfigAccess& cfg, pci::Bdf f, u16 id) {
    u32 at = kExtCapStart;
    // At most one capability per dword of extended space: more is a loop.
    for (u32 hops = 0; hops < (0x1000 - kExtCapStart) / 4; ++hops) {
        const u32 h = cfg.read32(f, at);
        if (h == 0 || h == 0xffffffffu) return Status::NotFound; // no extended capabilities
        if ((h & 0xffff) == id) return at;
        const u32 next = h >> 20;
        if (next == 0) return Status::NotFound;
        if (next < kExtCapStart || (next & 3) != 0) return Status::Corrupt;
        at = next;
    }
    return Status::Corrupt;
}

namespace {

void read_routing(pci::ConfigAccess& cfg, pci::Bdf pf, Capability& c) {
    const u32 os = cfg.read32(pf, c.offset + kSriovOffsetStride);
    c.first_offset = static_cast<u16>(os & 0xffff);
    c.stride = static_cast<u16>(os >> 16);
}

u32 control(pci::ConfigAccess& cfg, pci::Bdf pf, const Capability& c) {
    return cfg.read32(pf, c.offset + kSriovControl) & 0xffff;
}

} // namespace

Result<Capability> read_capability(pci::ConfigAccess& cfg, pci::Bdf pf) {
    Result<u32> at = find_ext_cap(cfg, pf, kExtCapIdSriov);
    if (!at.ok()) return at.status();
    Capability c;
    c.offset = at.value();
    const u32 counts = cfg.read32(pf, c.offset + kSriovVfCounts);
    c.initial_vfs = static_cast<u16>(counts & 0xffff);
    c.total_vfs = static_cast<u16>(counts >> 16);
    c.num_vfs = static_cast<u16>(cfg.read32(pf, c.offset + kSriovNumVfs) & 0xffff);
    c.vf_device = static_cast<u16>(cfg.read32(pf, c.offset + kSriovVfDevice) >> 16);
    c.page_sizes = cfg.read32(pf, c.offset + kSriovPageSizes);
    c.ari = (control(cfg, pf, c) & kCtlAriHierarchy) != 0;
    read_routing(cfg, pf, c);
    return c;
}

Status set_num_vfs(pci::ConfigAccess& cfg, pci::Bdf pf, Capability& cap, u16 n, bool ari) {
    if (n > cap.total_vfs) return Status::InvalidArgument;
    const u32 ctl = control(cfg, pf, cap);
    if (ctl & kCtlVfEnable) return Status::BadState;
    // ARI Capable Hierarchy first: the offset and stride the device reports for NumVFs
    // depend on it.
    const u32 want = ari ? (ctl | kCtlAriHierarchy) : (ctl & ~kCtlAriHierarchy);
    cfg.write32(pf, cap.offset + kSriovControl, want);
    const u32 dep = cfg.read32(pf, cap.offset + kSriovNumVfs) & 0xffff0000u;
    cfg.write32(pf, cap.offset + kSriovNumVfs, dep | n);
    cap.num_vfs = static_cast<u16>(cfg.read32(pf, cap.offset + kSriovNumVfs) & 0xffff);
    cap.ari = (control(cfg, pf, cap) & kCtlAriHierarchy) != 0;
    read_routing(cfg, pf, cap);
    if (cap.num_vfs != n) return Status::HardwareFault;
    if (n > 0 && cap.first_offset == 0) return Status::Corrupt; // VF 0 would be the PF
    if (n > 1 && cap.stride == 0) return Status::Corrupt;       // every VF on one RID
    return Status::Ok;
}

Result<pci::Bdf> vf_bdf(pci::Bdf pf, const Capability& cap, u16 i, u32 last_bus) {
    if (i >= cap.num_vfs) return Status::OutOfRange;
    const u32 rid = pci::routing_id(pf) + cap.first_offset + static_cast<u32>(i) * cap.stride;
    if (rid > 0xffff || (rid >> 8) > last_bus) return Status::OutOfRange;
    return pci::bdf_of(static_cast<u16>(rid));
}

Status size_vf_bars(pci::ConfigAccess& cfg, pci::Bdf pf, const Capability& cap,
                    pci::Bar (&bars)[6]) {
    const u32 ctl = control(cfg, pf, cap);
    if (ctl & kCtlVfEnable) return Status::BadState;
    cfg.write32(pf, cap.offset + kSriovControl, ctl & ~kCtlVfMse);
    return pci::size_bar_registers(cfg, pf, cap.offset + kSriovVfBar0, bars);
}

Status place_vf_bars(pci::Bar (&bars)[6], u16 num_vfs, const pci::PlaceConstraints& c) {
    if (num_vfs == 0) return Status::InvalidArgument;
    u64 slots = 1;
    while (slots < num_vfs)
        slots <<= 1;
    u64 per_vf[6] = {};
    for (u32 i = 0; i < 6; ++i) {
        per_vf[i] = bars[i].size;
        if (bars[i].present && bars[i].size > (~0ull >> 16) / slots) return Status::OutOfRange;
        bars[i].size *= slots;
    }
    const Status s = pci::place_bars(bars, c);
    for (u32 i = 0; i < 6; ++i)
        bars[i].size = per_vf[i];
    return s;
}

Status enable_vfs(pci::ConfigAccess& cfg, pci::Bdf pf, const Capability& cap,
                  const pci::Bar (&bars)[6]) {
    if (cap.num_vfs == 0) return Status::InvalidArgument;
    pci::write_bar_registers(cfg, pf, cap.offset + kSriovVfBar0, bars);
    const u32 ctl = control(cfg, pf, cap) | (cap.ari ? kCtlAriHierarchy : 0u);
    cfg.write32(pf, cap.offset + kSriovControl, ctl | kCtlVfMse);
    cfg.write32(pf, cap.offset + kSriovControl, ctl | kCtlVfMse | kCtlVfEnable);
    return (control(cfg, pf, cap) & kCtlVfEnable) ? Status::Ok : Status::HardwareFault;
}

} // namespace keel::sriov
