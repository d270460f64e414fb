#include "drivers/pci/claims.hpp"

namespace keel::pci {

bool Claims::add(u64 base, u64 size) {
    if (count_ == kMax) return false;
    ranges_[count_] = MemRange{};
    ranges_[count_].base = base;
    ranges_[count_].size = size;
    ++count_;
    return true;
}

namespace {
constinit Claims g_claims; // trivially destructible: no exit-time registration

// Type-1 header (PCI-to-PCI Bridge 1.2 §3.2): memory base/limit (address bits 31:20 in
// bits 15:4 / 31:20), prefetchable base/limit likewise plus upper 32 bits at 0x28/0x2c
// when its low nibble says 64-bit.
constexpr u32 kCfgMemWindow = 0x20, kCfgPrefWindow = 0x24, kCfgPrefBaseHi = 0x28,
              kCfgPrefLimitHi = 0x2c;

bool claim_window(Claims& claims, u32 reg, u64 base_hi, u64 limit_hi, u32& n) {
    const u64 base = (base_hi << 32) | (u64{reg & 0xfff0u} << 16);
    const u64 limit = (limit_hi << 32) | (u64{reg & 0xfff00000u}) | 0xfffff;
    if (limit < base) return true; // window off
    if (!claims.add(base, limit - base + 1)) return false;
    ++n;
    return true;
}

} // namespace

Result<u32> claim_decoding_bars(ConfigAccess& cfg, Claims& claims, u8 bus) {
    u32 n = 0;
    Status s = Status::Ok;
    (void)for_each_function(cfg, bus, [&](Bdf f) {
        const u32 header = (cfg.read32(f, kCfgHeader) >> 16) & 0x7f;
        if (header == 1) {
            const u32 pref = cfg.read32(f, kCfgPrefWindow);
            const bool pref64 = (pref & 0xf) == 1;
            if (!claim_window(claims, cfg.read32(f, kCfgMemWindow), 0, 0, n) ||
                !claim_window(claims, pref, pref64 ? cfg.read32(f, kCfgPrefBaseHi) : 0,
                              pref64 ? cfg.read32(f, kCfgPrefLimitHi) : 0, n))
                s = Status::NoMemory;
        } else if (const u32 cmd = cfg.read32(f, kCfgCommand) & 0xffff;
                   header == 0 && (cmd & kCmdMemory)) {
            Bar bars[6];
            s = size_bars(cfg, f, bars);
            cfg.write32(f, kCfgCommand, cmd); // decoding back on, as firmware left it
            for (const Bar& b : bars) {
                if (s != Status::Ok) break;
                if (!b.present || b.io || b.firmware_addr == 0) continue;
                if (!claims.add(b.firmware_addr, b.size))
                    s = Status::NoMemory;
                else
                    ++n;
            }
        }
        return s == Status::Ok;
    });
    if (s != Status::Ok) return s;
    return n;
}

Claims& bar_claims() { return g_claims; }

u32 busy_ranges(const Platform& p, MemRange* out, u32 max) {
    u32 n = 0;
    auto add = [&](u64 base, u64 size) {
        if (n == max || size == 0) return;
        out[n] = MemRange{};
        out[n].base = base, out[n].size = size;
        ++n;
    };
    for (u32 i = 0; i < p.mem_count; ++i)
        add(p.mem[i].base, p.mem[i].size);
    add(p.ecam_base, p.ecam_size);
    if (p.uart_base) add(align_down(p.uart_base, 4096), 4096);
    if (p.irq_dist_base) add(p.irq_dist_base, 64 * KiB);
    if (p.irq_redist_base) add(p.irq_redist_base, p.irq_redist_size);
    for (u32 i = 0; i < p.redist_more_count; ++i)
        add(p.redist_more[i].base, p.redist_more[i].size);
    if (p.its_base) add(p.its_base, 128 * KiB); // GITS frames: control + translation
    for (u32 i = 0; i < g_claims.count(); ++i)
        add(g_claims.ranges()[i].base, g_claims.ranges()[i].size);
    return n;
}

} // namespace keel::pci
