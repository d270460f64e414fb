#include "drivers/pci/ecam.hpp"

namespace keel::pci {

volatile u32* EcamAccess::at(Bdf f, u32 offset) const {
    if (f.bus < first_ || f.bus - first_ >= count_ || f.dev > 31 || f.fn > 7 || offset > 0xffc ||
        (offset & 3))
        return nullptr;
    const u64 off = (static_cast<u64>(f.bus - first_) << 20) | (static_cast<u64>(f.dev) << 15) |
                    (static_cast<u64>(f.fn) << 12) | offset;
    return reinterpret_cast<volatile u32*>(base_ + off);
}

u32 EcamAccess::read32(Bdf f, u32 offset) {
    volatile u32* p = at(f, offset);
    return p ? *p : 0xffffffffu;
}

void EcamAccess::write32(Bdf f, u32 offset, u32 value) {
    if (volatile u32* p = at(f, offset)) *p = value;
}

Result<Bdf> find_device(ConfigAccess& cfg, u32 first_bus, u32 last_bus, u16 vendor, u16 device) {
    const u32 want = (static_cast<u32>(device) << 16) | vendor;
    for (u32 bus = first_bus; bus <= last_bus && bus < 256; ++bus) {
        Bdf found{};
        if (!for_each_function(cfg, static_cast<u8>(bus), [&](Bdf f) {
                if (cfg.read32(f, kCfgId) != want) return true;
                found = f;
                return false;
            }))
            return found;
    }
    return Status::NotFound;
}

Status size_bar_registers(ConfigAccess& cfg, Bdf f, u32 first_reg, Bar (&bars)[6]) {
    for (u32 i = 0; i < 6; ++i) {
        Bar& b = bars[i];
        b = Bar{};
        b.index = i;
        const u32 reg = first_reg + 4 * i;
        const u32 orig = cfg.read32(f, reg);
        cfg.write32(f, reg, 0xffffffffu);
        const u32 probe = cfg.read32(f, reg);
        cfg.write32(f, reg, orig);
        if (probe == 0) continue;
        b.io = probe & 1;
        if (b.io) continue; // Keel never places I/O BARs
        b.is64 = ((probe >> 1) & 3) == 2;
        b.prefetchable = probe & 8;
        u64 mask = probe & ~0xfull;
        b.firmware_addr = orig & ~0xfull;
        if (b.is64) {
            if (i == 5) return Status::Corrupt; // a 64-bit BAR cannot start in the last register
            const u32 reg_hi = reg + 4;
            const u32 orig_hi = cfg.read32(f, reg_hi);
            b.firmware_addr |= static_cast<u64>(orig_hi) << 32;
            cfg.write32(f, reg_hi, 0xffffffffu);
            mask |= static_cast<u64>(cfg.read32(f, reg_hi)) << 32;
            cfg.write32(f, reg_hi, orig_hi);
        } else {
            mask |= 0xffffffff00000000ull;
        }
        b.size = ~mask + 1;
        if (b.size == 0 || (b.size & (b.size - 1)) != 0) return Status::Corrupt;
        if (b.firmware_addr % b.size != 0) b.firmware_addr = 0; // not a placement
        b.present = true;
        if (b.is64) ++i; // the upper half is not a BAR of its own
    }
    return Status::Ok;
}

Status size_bars(ConfigAccess& cfg, Bdf f, Bar (&bars)[6]) {
    if (((cfg.read32(f, kCfgHeader) >> 16) & 0x7f) != 0)
        return Status::Unsupported; // bridges: not here
    const u32 cmd = cfg.read32(f, kCfgCommand) & 0xffff;
    cfg.write32(f, kCfgCommand, cmd & ~(kCmdMemory | kCmdBusMaster | 1u));
    return size_bar_registers(cfg, f, kCfgBar0, bars);
}

void write_bar_registers(ConfigAccess& cfg, Bdf f, u32 first_reg, const Bar (&bars)[6]) {
    for (const Bar& b : bars) {
        if (!b.present) continue;
        const u32 reg = first_reg + 4 * b.index;
        cfg.write32(f, reg, static_cast<u32>(b.addr));
        if (b.is64) cfg.write32(f, reg + 4, static_cast<u32>(b.addr >> 32));
    }
}

void program_bars(ConfigAccess& cfg, Bdf f, const Bar (&bars)[6]) {
    write_bar_registers(cfg, f, kCfgBar0, bars);
    const u32 cmd = cfg.read32(f, kCfgCommand) & 0xffff;
    cfg.write32(f, kCfgCommand, cmd | kCmdMemory);
}

} // namespace keel::pci
