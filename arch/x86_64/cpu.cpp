#include <arch/cpu.hpp>

#include "hypervisor/print.hpp"
#include "x86.hpp"

namespace keel::arch {
namespace {
constexpr u16 kBochsShutdownPort = 0x8900; // Bochs: the string "Shutdown" quits the simulator
constexpr u16 kQemuDebugExitPort = 0xf4;   // QEMU isa-debug-exit,iobase=0xf4
} // namespace

void halt() {
    for (;;)
        asm volatile("cli; hlt");
}

void power_off(u32 code) {
    kprint("keel: power off (status %u)\n", code);
    for (const char* p = "Shutdown"; *p; ++p)
        x86::outb(kBochsShutdownPort, static_cast<u8>(*p));
    x86::outb(kQemuDebugExitPort, static_cast<u8>(code));
    halt();
}

} // namespace keel::arch
