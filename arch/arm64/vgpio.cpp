// The VM's PL061 (vgpio.hpp): every change of the model re-evaluates the interrupt line
// under the lock, so the vGIC always ends with the level of the last change.
#include "vgpio.hpp"

#include "hypervisor/vm/vm.hpp"
#include "vgic.hpp"
#include "vm_arch.hpp"

namespace keel::arm64 {

void vgpio_init(VGpio& g) { g.dev = Pl061{}; }

void vgpio_mmio(Vcpu& v, u64 off, bool write, u64* value) {
    Vm& vm = *v.vm;
    VGpio& g = vm.arch.gpio;
    LockGuard lock(g.lock);
    const u32 o = static_cast<u32>(off);
    if (write)
        g.dev.write(o, static_cast<u32>(*value));
    else
        *value = g.dev.read(o);
    vgic_spi_level(vm, kGpioSpi, g.dev.irq());
}

void vgpio_power_button(Vm& vm) {
    VGpio& g = vm.arch.gpio;
    LockGuard lock(g.lock);
    g.dev.set_input(kGpioPowerLine, true);
    vgic_spi_level(vm, kGpioSpi, g.dev.irq());
}

} // namespace keel::arm64
