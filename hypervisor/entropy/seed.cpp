#include "hypervisor/entropy/seed.hpp"

#include <string.h>

#include "crypto/hmac.hpp"

namespace keel::entropy {
namespace {
// HKDF salt: a fixed domain separator (RFC 5869 §3.1 allows a non-secret constant).
constexpr char kSalt[] = "keel entropy seed v1";
} // namespace

bool cpu_words_healthy(const u64* words, usize count, usize wanted) {
    if (words == nullptr || count < wanted || wanted == 0) return false;
    for (usize i = 0; i < count; ++i) {
        if (words[i] == 0 || words[i] == ~0ull) return false;
        for (usize j = 0; j < i; ++j)
            if (words[j] == words[i]) return false;
    }
    return true;
}

bool boot_seed_usable(const u8* seed, usize len) {
    if (seed == nullptr || len < 16) return false;
    for (usize i = 1; i < len; ++i)
        if (seed[i] != seed[0]) return true;
    return false;
}

Status derive_seed(const Inputs& in, Seed& out, const char** why) {
    out = Seed{};
    const bool cpu = in.cpu_name != nullptr && cpu_words_healthy(in.cpu, in.cpu_count, kCpuWords);
    const bool boot = boot_seed_usable(in.boot_seed, in.boot_seed_len);
    if (!cpu && !boot) {
        if (why != nullptr)
            *why = in.cpu_name == nullptr
                       ? "no CPU random-number instruction and no boot-stage entropy"
                       : "the CPU's random-number instruction failed its health test and there "
                         "is no boot-stage entropy";
        return Status::NotFound;
    }
    // Input keying material: every source in a fixed layout, failed ones included (mixing
    // cannot hurt; only the passed ones are counted).
    u8 ikm[sizeof in.cpu + BootInfo::kEntropyMax + 2 * sizeof(u64)] = {};
    usize n = 0;
    memcpy(ikm + n, in.cpu, sizeof in.cpu), n += sizeof in.cpu;
    if (boot) {
        const usize len =
            in.boot_seed_len < BootInfo::kEntropyMax ? in.boot_seed_len : BootInfo::kEntropyMax;
        memcpy(ikm + n, in.boot_seed, len);
    }
    n += BootInfo::kEntropyMax;
    memcpy(ikm + n, &in.boot_counter, sizeof(u64)), n += sizeof(u64);
    memcpy(ikm + n, &in.ticks, sizeof(u64)), n += sizeof(u64);
    const Status s =
        crypto::hkdf_sha256(kSalt, sizeof kSalt - 1, ikm, n, "seed", 4, out.key, sizeof out.key);
    memset(ikm, 0, sizeof ikm);
    if (s != Status::Ok) return s;
    out.sources = (cpu ? kSourceCpu : 0) | (boot ? kSourceBootStage : 0);
    out.boot_counter = in.boot_counter;
    return Status::Ok;
}

Status expand(const Seed& seed, const char* label, u64 counter, u8* out, usize out_len) {
    if (seed.sources == 0) return Status::InvalidArgument; // never from an underived seed
    u8 info[64] = {};
    const usize len = strlen(label);
    if (len > sizeof info - sizeof counter) return Status::InvalidArgument;
    memcpy(info, label, len);
    memcpy(info + len, &counter, sizeof counter);
    return crypto::hkdf_sha256(nullptr, 0, seed.key, sizeof seed.key, info, len + sizeof counter,
                               out, out_len);
}

void take_boot_info(const BootInfo& bi, Inputs& in) {
    if ((bi.flags & BootInfo::kFlagEntropy) != 0) {
        in.boot_seed = bi.entropy;
        in.boot_seed_len = bi.entropy_len <= BootInfo::kEntropyMax ? bi.entropy_len : 0;
    }
    if ((bi.flags & BootInfo::kFlagBootCounter) != 0) in.boot_counter = bi.boot_counter;
}

} // namespace keel::entropy
