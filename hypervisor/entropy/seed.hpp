// The one per-boot seed every random value of the hypervisor comes from (docs/mailbox.md
// §4.1): the CPU's random-number instruction (after a health test), the boot stage's
// entropy (EFI_RNG_PROTOCOL or the device tree's /chosen/rng-seed, handed over in BootInfo)
// and the persistent boot counter, mixed with HKDF-SHA256. Arch-independent and pure: the
// arch only collects the CPU words (arch/entropy_interface.hpp); host-tested.
//
// Refusal rule: at least one real source must pass (healthy CPU words, or a boot-stage
// seed that is not constant). The boot counter and the cycle counter are mixed in but
// never count as a source: a seed from them alone would be predictable.
#pragma once

#include "hypervisor/boot_info.hpp"
#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::entropy {

constexpr usize kCpuWords = 8; // 512 bits asked of the CPU's RNG
constexpr usize kSeedSize = 32;

struct Inputs {
    u64 cpu[kCpuWords] = {};
    usize cpu_count = 0;            // words the CPU delivered (retries exhausted: fewer)
    const char* cpu_name = nullptr; // "RNDRRS", "RDSEED"...; null: the CPU has no RNG
    const u8* boot_seed = nullptr;  // BootInfo::entropy when the boot stage provided it
    usize boot_seed_len = 0;
    u64 boot_counter = 0; // BootInfo::boot_counter (0 when not persistent)
    u64 ticks = 0;        // a cycle/timer count: mixed, never trusted
};

// Sources that passed, as bits in Seed::sources.
constexpr u32 kSourceCpu = 1u << 0;
constexpr u32 kSourceBootStage = 1u << 1;

struct Seed {
    u8 key[kSeedSize] = {};
    u32 sources = 0;
    u64 boot_counter = 0;
};

// Health test of the CPU's words (after NIST SP 800-90B §4.4.1, the repetition count
// test, with 64-bit samples: a full-entropy source repeats a word with probability
// 2^-64, so any repeat, and any all-zeros or all-ones word, fails the source). Fewer
// than `n` words (retries exhausted) also fails.
[[nodiscard]] bool cpu_words_healthy(const u64* words, usize count, usize wanted);
// A boot-stage seed counts when it has at least 16 bytes and is not one repeated byte.
[[nodiscard]] bool boot_seed_usable(const u8* seed, usize len);

// Ok with `out` filled, or NotFound with `why` naming what was missing (no source
// passed: nothing is derived, and the caller must not attach anything needing a nonce).
[[nodiscard]] Status derive_seed(const Inputs& in, Seed& out, const char** why);

// Independent values from the seed (HKDF-SHA256 expand with `label` as info and a
// counter): the mailbox nonce, ephemeral keys. `out_len` ≤ 255 * 32.
[[nodiscard]] Status expand(const Seed& seed, const char* label, u64 counter, u8* out,
                            usize out_len);

// The inputs BootInfo carries (entropy, counter) copied into `in`.
void take_boot_info(const BootInfo& bi, Inputs& in);

} // namespace keel::entropy
