// x86_64 per-boot nonce (arch/entropy_interface.hpp): RDRAND where CPUID.1:ECX[30] says
// it exists (SDM Vol. 1 7.3.17), up to 10 tries a word as Intel's DRNG guide advises,
// hashed with the TSC either way (docs/mailbox.md §4 says what a missing RNG means).
#include <arch/entropy.hpp>

#include "crypto/sha2.hpp"
#include "x86.hpp"

namespace keel::arch {

void boot_nonce(u8 (&out)[16]) {
    const bool rdrand = (x86::cpuid(1, 0).ecx >> 30) & 1;
    u64 words[2] = {};
    for (u64& w : words) {
        for (int tries = 0; rdrand && tries < 10; ++tries) {
            u64 v;
            u8 ok;
            asm volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok)::"cc");
            if (ok) {
                w = v;
                break;
            }
        }
    }
    u32 lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    u64 mix[3] = {words[0], words[1], (static_cast<u64>(hi) << 32) | lo};
    u8 h[crypto::kSha256Size];
    crypto::sha256(mix, sizeof mix, h);
    for (usize i = 0; i < sizeof out; ++i)
        out[i] = h[i];
}

} // namespace keel::arch
