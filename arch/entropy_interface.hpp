// The CPU's random-number instruction, the one arch-specific part of the hypervisor's
// entropy (reached through <arch/entropy.hpp>). Mixing, health test and the refusal
// rule are arch-independent: hypervisor/entropy/seed.hpp.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::arch {

// Fills out[0..n) from the CPU's RNG with the arch's retry policy per word and returns
// how many words it delivered (it stops at the first word that still failed after its
// retries). `*name` is set to the instruction used, or to null when the CPU has none
// (then 0 is returned).
usize cpu_random(u64* out, usize n, const char** name);

} // namespace keel::arch
