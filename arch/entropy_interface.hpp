// Per-boot randomness every arch provides (reached through <arch/entropy.hpp>).
#pragma once

#include "hypervisor/types.hpp"

namespace keel::arch {

// 16 fresh bytes for the mailbox's per-boot nonce (a hardware RNG where there is one;
// docs/mailbox.md §4 says what happens without).
void boot_nonce(u8 (&out)[16]);

} // namespace keel::arch
