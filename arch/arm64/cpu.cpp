#include <arch/cpu.hpp>

#include "hypervisor/print.hpp"
#include "psci.hpp"

namespace keel::arch {

void halt() {
    asm volatile("msr daifset, #0xf");
    for (;;)
        asm volatile("wfe");
}

void power_off(u32 code) {
    kprint("keel: power off (status %u)\n", code);
    arm64::psci_system_off();
    kprint("KEEL PANIC: PSCI SYSTEM_OFF returned\n");
    halt();
}

} // namespace keel::arch
