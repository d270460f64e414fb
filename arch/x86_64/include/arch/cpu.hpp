// x86_64 CPU control used by the core.
#pragma once

#include "hypervisor/boot_info.hpp"
#include "hypervisor/platform.hpp"
#include "hypervisor/types.hpp"

namespace keel::arch {

inline constexpr const char* kArchName = "x86_64";
// The BootArch an image of this arch is signed for (a live update's incoming image too).
inline constexpr BootArch kBootArch = BootArch::X86_64;

// One round of a polling or spinning loop (PAUSE: a spin-wait hint).
inline void cpu_relax() { asm volatile("pause" ::: "memory"); }

// Interrupts off, hlt forever.
[[noreturn]] void halt();
// Ends the run: Bochs quits on "Shutdown" written to port 0x8900, QEMU's
// isa-debug-exit (port 0xf4) exits with status (code << 1) | 1. On hardware
// neither exists and the CPU halts.
[[noreturn]] void power_off(u32 code);

} // namespace keel::arch
