// A VM's emulated PL061 GPIO controller (pl061.hpp) at the address QEMU virt uses, with
// line 3 wired to the power button: the guest DTB describes it as a `gpio-keys` KEY_POWER
// key (guest_dtb.cpp), as QEMU virt does, so unmodified Linux sees a power button press.
// Its interrupt is SPI 7 (INTID 39) through the vGIC, level (GPIOMIS != 0).
#pragma once

#include "hypervisor/spinlock.hpp"
#include "pl061.hpp"

namespace keel {
struct Vm;
}

namespace keel::arm64 {

struct Vcpu;

constexpr u64 kGuestGpioIpa = 0x09030000;
constexpr u64 kGuestGpioSize = 0x1000;
constexpr u32 kGpioSpi = 32 + 7;
constexpr u32 kGpioPowerLine = 3;

struct VGpio {
    SpinLock lock; // the vCPUs' MMIO and the controller's button press (boot core)
    Pl061 dev;
};

void vgpio_init(VGpio& g);
// A trapped 32-bit access at `off` into the controller's 4 KiB frame.
void vgpio_mmio(Vcpu& v, u64 off, bool write, u64* value);
// Presses the power button: line 3 goes high and stays high (QEMU virt pulses it for 100 ms;
// Keel has no timer, and a VM gets one polite STOP: gpio-keys sees the same press).
void vgpio_power_button(Vm& vm);

} // namespace keel::arm64
