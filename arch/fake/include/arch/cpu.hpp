// Fake arch CPU control for host tests: halting aborts the test process.
#pragma once

#include "hypervisor/boot_info.hpp"
#include "hypervisor/platform.hpp"
#include "hypervisor/types.hpp"

namespace keel::arch {
inline constexpr const char* kArchName = "fake";
// The BootArch an image of this arch is signed for (a live update's incoming image too).
inline constexpr BootArch kBootArch = BootArch::Arm64;
inline void cpu_relax() {}
[[noreturn]] void halt();
[[noreturn]] void power_off(u32 code);
} // namespace keel::arch
