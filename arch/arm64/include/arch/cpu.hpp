// arm64 CPU control used by the core.
#pragma once

#include "hypervisor/boot_info.hpp"
#include "hypervisor/platform.hpp"
#include "hypervisor/types.hpp"

namespace keel::arch {

inline constexpr const char* kArchName = "arm64";
// The BootArch an image of this arch is signed for (a live update's incoming image too).
inline constexpr BootArch kBootArch = BootArch::Arm64;

// One round of a polling or spinning loop: YIELD hints that the core waits, and lets an
// emulator running every core on one thread (QEMU -icount) run the others.
inline void cpu_relax() { asm volatile("yield" ::: "memory"); }

[[noreturn]] void halt();
// Powers the machine off (PSCI SYSTEM_OFF through the conduit the DTB names).
// `code` is reported on the console; PSCI has no exit status.
[[noreturn]] void power_off(u32 code);

} // namespace keel::arch
