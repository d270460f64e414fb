// x86_64 CPU randomness (arch/entropy_interface.hpp): RDSEED where CPUID.(EAX=07H,
// ECX=0):EBX[18] says it exists, else RDRAND (CPUID.01H:ECX[30]) (SDM Vol. 1 §7.3.17).
// Both clear CF when no value is ready; RDSEED runs dry more often under load, so it gets
// more retries (with PAUSE between) and falls back to RDRAND per word; RDRAND gets the 10
// tries Intel's DRNG software implementation guide advises.
#include <arch/entropy.hpp>

#include "x86.hpp"

namespace keel::arch {
namespace {

bool rdseed(u64& v) {
    u8 ok;
    asm volatile("rdseed %0; setc %1" : "=r"(v), "=qm"(ok)::"cc");
    return ok != 0;
}
bool rdrand(u64& v) {
    u8 ok;
    asm volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok)::"cc");
    return ok != 0;
}

} // namespace

usize cpu_random(u64* out, usize n, const char** name) {
    const bool has_seed = (x86::cpuid(7, 0).ebx >> 18) & 1;
    const bool has_rand = (x86::cpuid(1, 0).ecx >> 30) & 1;
    *name = has_seed ? "RDSEED/RDRAND" : has_rand ? "RDRAND" : nullptr;
    if (*name == nullptr) return 0;
    for (usize i = 0; i < n; ++i) {
        bool got = false;
        for (int t = 0; has_seed && !got && t < 100; ++t) {
            got = rdseed(out[i]);
            if (!got) asm volatile("pause");
        }
        for (int t = 0; has_rand && !got && t < 10; ++t)
            got = rdrand(out[i]);
        if (!got) return i;
    }
    return n;
}

} // namespace keel::arch
