// arm64 CPU randomness (arch/entropy_interface.hpp): RNDRRS, then RNDR, where FEAT_RNG
// exists (ID_AA64ISAR0_EL1.RNDR, bits [63:60], ARM DDI 0487 D19.2.62). Both set
// NZCV to 0b0100 (Z) and return 0 when no value is available "in a reasonable period",
// a transient condition the architecture says software retries (C6.2.230 "RNDR").
// RNDRRS reseeds from the true entropy source first, so it is tried first.
#include <arch/entropy.hpp>

#include "sysreg.hpp"

namespace keel::arch {
namespace {

constexpr int kTries = 64;

bool rndrrs(u64& v) {
    u64 fail;
    asm volatile("mrs %0, s3_3_c2_c4_1\n cset %1, eq" : "=r"(v), "=r"(fail)::"cc");
    return fail == 0;
}
bool rndr(u64& v) {
    u64 fail;
    asm volatile("mrs %0, s3_3_c2_c4_0\n cset %1, eq" : "=r"(v), "=r"(fail)::"cc");
    return fail == 0;
}

} // namespace

usize cpu_random(u64* out, usize n, const char** name) {
    if (((KEEL_READ_SYSREG(id_aa64isar0_el1) >> 60) & 0xf) == 0) {
        *name = nullptr;
        return 0;
    }
    *name = "RNDRRS/RNDR";
    for (usize i = 0; i < n; ++i) {
        bool got = false;
        for (int t = 0; !got && t < kTries; ++t)
            got = rndrrs(out[i]) || rndr(out[i]);
        if (!got) return i;
    }
    return n;
}

} // namespace keel::arch
