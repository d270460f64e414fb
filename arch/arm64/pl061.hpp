// The register model of an ARM PrimeCell PL061 GPIO controller (ARM DDI 0190 "PrimeCell
// General Purpose Input/Output (PL061) Technical Reference Manual", 3.3 register summary):
// 8 lines, GPIODATA address-masked (address bits [9:2] select the lines an access sees),
// per-line direction and interrupt sense (edge/level, both edges, rising/high or
// falling/low), raw and masked status, edge clear. Pure logic, host-tested; the VM's
// instance and its interrupt line are in vgpio.cpp.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::arm64 {

struct Pl061 {
    static constexpr u32 kDir = 0x400, kIs = 0x404, kIbe = 0x408, kIev = 0x40c, kIe = 0x410;
    static constexpr u32 kRis = 0x414, kMis = 0x418, kIc = 0x41c, kAfsel = 0x420;
    static constexpr u32 kPeriphId = 0xfe0;
    // GPIOPeriphID0-3 (0x00041061: part 0x061, designer 0x41, revision 0) and
    // GPIOPCellID0-3 (0xb105f00d), one byte a register (TRM 3.3.12, 3.3.13).
    static constexpr u8 kIds[8] = {0x61, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1};

    u8 data = 0; // output latch (drives the lines whose GPIODIR bit is 1)
    u8 dir = 0, is = 0, ibe = 0, iev = 0, ie = 0, ris = 0, afsel = 0;
    u8 in = 0; // the input lines as the board drives them (line 3: the power button)

    // The level every line has: driven by the latch where it is an output.
    [[nodiscard]] constexpr u8 pins() const { return static_cast<u8>((data & dir) | (in & ~dir)); }
    // The controller's interrupt output (GPIOINTR): any masked status bit.
    [[nodiscard]] constexpr bool irq() const { return (ris & ie) != 0; }

    [[nodiscard]] constexpr u32 read(u32 off) const {
        if (off < kDir) return pins() & ((off >> 2) & 0xff);
        switch (off) {
        case kDir: return dir;
        case kIs: return is;
        case kIbe: return ibe;
        case kIev: return iev;
        case kIe: return ie;
        case kRis: return ris;
        case kMis: return ris & ie;
        case kAfsel: return afsel;
        default: break;
        }
        if (off >= kPeriphId && off < kPeriphId + 32 && (off & 3) == 0)
            return kIds[(off - kPeriphId) / 4];
        return 0; // GPIOIC is write-only; the rest of the frame is reserved
    }

    constexpr void write(u32 off, u32 value) {
        const u8 v = static_cast<u8>(value);
        const u8 before = pins();
        if (off < kDir) {
            const u8 mask = static_cast<u8>((off >> 2) & 0xff);
            data = static_cast<u8>((data & ~mask) | (v & mask));
        } else if (off == kIc) {
            ris = static_cast<u8>(ris & ~(v & ~is)); // clears edge-detected bits only
        } else {
            switch (off) {
            case kDir: dir = v; break;
            case kIs: is = v; break;
            case kIbe: ibe = v; break;
            case kIev: iev = v; break;
            case kIe: ie = v; break;
            case kAfsel: afsel = v; break;
            default: return; // RIS, MIS, IDs: read-only
            }
        }
        update(before);
    }

    // The board drives input `line` (0-7) high or low.
    constexpr void set_input(u32 line, bool high) {
        const u8 before = pins();
        const u8 bit = static_cast<u8>(1u << (line & 7));
        in = static_cast<u8>(high ? in | bit : in & ~bit);
        update(before);
    }

private:
    // Edges latch into the raw status until cleared; level-sensed lines follow the pins.
    constexpr void update(u8 before) {
        const u8 now = pins();
        const u8 rise = static_cast<u8>(~before & now), fall = static_cast<u8>(before & ~now);
        const u8 edge = static_cast<u8>(
            ~is & ((ibe & (rise | fall)) | (~ibe & ((iev & rise) | (~iev & fall)))));
        const u8 level = static_cast<u8>(is & ~(now ^ iev));
        ris = static_cast<u8>(((ris | edge) & ~is) | level);
    }
};

} // namespace keel::arm64
