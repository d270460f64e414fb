// PCIe configuration access through ECAM (PCI Express Base 6.0 §7.2.2: 4 KiB of config
// space per function, 1 MiB per bus) and BAR sizing (PCI Local Bus 3.0 §6.2.5.1).
// The accessor is an interface so host tests can run the same enumeration and sizing
// against a model of a device's config space (tests/unit/mailbox_pci_test.cpp).
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::pci {

struct Bdf {
    u8 bus = 0, dev = 0, fn = 0;
};

class ConfigAccess {
public:
    virtual u32 read32(Bdf f, u32 offset) = 0;
    virtual void write32(Bdf f, u32 offset, u32 value) = 0;

protected:
    ~ConfigAccess() = default; // never deleted through the interface (no heap in the image)
};

// ECAM over an identity-mapped window: bus `first_bus` starts at `base`. Accesses past
// the mapped buses read as all ones (no device) and writes are dropped.
class EcamAccess final : public ConfigAccess {
public:
    EcamAccess(u64 base, u32 first_bus, u32 bus_count)
        : base_(base), first_(first_bus), count_(bus_count) {}
    u32 read32(Bdf f, u32 offset) override;
    void write32(Bdf f, u32 offset, u32 value) override;

private:
    volatile u32* at(Bdf f, u32 offset) const;
    u64 base_;
    u32 first_, count_;
};

// Config-space offsets (type 0 header, PCI Local Bus 3.0 §6.1).
constexpr u32 kCfgId = 0x00;      // vendor [15:0], device [31:16]
constexpr u32 kCfgCommand = 0x04; // command [15:0]
constexpr u32 kCfgHeader = 0x0c;  // header type [23:16]
constexpr u32 kCfgBar0 = 0x10;
constexpr u32 kCmdMemory = 1u << 1;
constexpr u32 kCmdBusMaster = 1u << 2;

// Calls visit(f) for every function present on `bus`, in device then function order
// (PCI Local Bus 3.0 §6.1: vendor 0xffff means no function; functions 1-7 are looked at
// only where function 0's header type says multi-function). visit returns false to stop
// the walk; for_each_function then returns false.
template <typename Visit>
bool for_each_function(ConfigAccess& cfg, u8 bus, Visit&& visit) {
    for (u8 dev = 0; dev < 32; ++dev) {
        for (u8 fn = 0; fn < 8; ++fn) {
            const Bdf f{bus, dev, fn};
            if ((cfg.read32(f, kCfgId) & 0xffff) == 0xffff) {
                if (fn == 0) break; // no function 0: no device
                continue;
            }
            if (!visit(f)) return false;
            if (fn == 0 && !(cfg.read32(f, kCfgHeader) & (0x80u << 16))) break;
        }
    }
    return true;
}

// Finds the first function with this vendor/device id on buses [first, last].
[[nodiscard]] Result<Bdf> find_device(ConfigAccess& cfg, u32 first_bus, u32 last_bus, u16 vendor,
                                      u16 device);

struct Bar {
    u32 index = 0; // BAR register number (0..5); a 64-bit BAR uses index and index+1
    bool present = false;
    bool is64 = false;
    bool prefetchable = false;
    bool io = false;
    u64 size = 0;          // power of two
    u64 addr = 0;          // assigned by place_bars
    u64 firmware_addr = 0; // what the BAR held before sizing (firmware's placement), or 0
};

// Sizes every BAR of a type-0 function with memory decoding off (so the all-ones probe
// never decodes), restoring the original values. Fills bars[0..6) by register index.
[[nodiscard]] Status size_bars(ConfigAccess& cfg, Bdf f, Bar (&bars)[6]);
// Writes the assigned addresses and enables memory decoding.
void program_bars(ConfigAccess& cfg, Bdf f, const Bar (&bars)[6]);
// The same sizing and programming over any block of six BAR registers starting at
// `first_reg` (a type-0 header's, or an SR-IOV capability's VF BARs), without touching
// the command register: the caller keeps decoding off while it probes.
[[nodiscard]] Status size_bar_registers(ConfigAccess& cfg, Bdf f, u32 first_reg, Bar (&bars)[6]);
void write_bar_registers(ConfigAccess& cfg, Bdf f, u32 first_reg, const Bar (&bars)[6]);
// Routing ID (PCIe Base 6.0 §2.2.6.2): bus [15:8], device [7:3], function [2:0].
constexpr u16 routing_id(Bdf f) {
    return static_cast<u16>((f.bus << 8) | ((f.dev & 31) << 3) | (f.fn & 7));
}
constexpr Bdf bdf_of(u16 rid) {
    return Bdf{static_cast<u8>(rid >> 8), static_cast<u8>((rid >> 3) & 31),
               static_cast<u8>(rid & 7)};
}

} // namespace keel::pci
