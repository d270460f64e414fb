// arm64 per-boot nonce (arch/entropy_interface.hpp): RNDR where FEAT_RNG exists.
#include <arch/entropy.hpp>

#include "crypto/sha2.hpp"
#include "sysreg.hpp"

namespace keel::arch {

void boot_nonce(u8 (&out)[16]) {
    // RNDR (FEAT_RNG, ID_AA64ISAR0_EL1.RNDR, D17.2.61); NZCV.Z set means "no entropy now".
    const bool rndr = ((KEEL_READ_SYSREG(id_aa64isar0_el1) >> 60) & 0xf) != 0;
    u64 words[2] = {};
    for (u64& w : words) {
        for (int tries = 0; rndr && tries < 64; ++tries) {
            u64 v, fail;
            asm volatile("mrs %0, s3_3_c2_c4_0\n cset %1, eq" : "=r"(v), "=r"(fail)::"cc");
            if (!fail) {
                w = v;
                break;
            }
        }
    }
    // Mixed with the counter either way, so a missing RNG still gives a per-boot value
    // (weaker: docs/mailbox.md §4 says so).
    u64 mix[3] = {words[0], words[1], KEEL_READ_SYSREG(cntpct_el0)};
    u8 h[crypto::kSha256Size];
    crypto::sha256(mix, sizeof mix, h);
    for (usize i = 0; i < sizeof out; ++i)
        out[i] = h[i];
}

} // namespace keel::arch
