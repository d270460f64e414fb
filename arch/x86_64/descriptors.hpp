// The hypervisor's GDT (64-bit code, data, TSS) and IDT (the 32 exception vectors),
// one set per CPU (each CPU's TSS is busy in its own GDT, and has its own #DF stack).
#pragma once

#include "hypervisor/types.hpp"

namespace keel::x86 {
inline constexpr u32 kMaxCpus = 8; // CPUs Keel brings up on x86_64 (percpu.hpp)
// Loads CPU `slot`'s GDT with a TSS whose IST1 is that CPU's #DF stack, reloads the
// segment registers and TR, and loads its IDT routing vectors 0-31 to vectors.S.
// The boot CPU uses slot 0 until smp_start knows its index.
void descriptors_init(u32 slot = 0);
} // namespace keel::x86
