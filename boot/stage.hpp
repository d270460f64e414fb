// The UEFI boot stage's internal interface (boot/README.md): main flow in main.cpp,
// measurements in measure.cpp, the per-arch hand-off in arch_<arch>.cpp + handoff_<arch>.S.
#pragma once

#include "boot/efi/efi.hpp"
#include "boot/image/keel_image.hpp"
#include "hypervisor/boot_info.hpp"

namespace keel {

void stage_console_init(efi::SystemTable* st);
void stage_console_off();

// Prints "keel-boot: REFUSED: <what>" and halts; never returns, never boots.
[[noreturn]] void refuse(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Lower-case hex of data into out (2*len+1 bytes).
void to_hex(const u8* data, usize len, char* out);

// EFI_RNG_PROTOCOL bytes and the persistent boot counter into `bi` (entropy.cpp).
void stage_entropy(efi::SystemTable* st, BootInfo& bi);

// --- per arch ---------------------------------------------------------------------
extern const image::Arch kStageArch;
extern const char* const kStageArchName;
// Refuses when the firmware left the CPU in a state Keel cannot start from (arm64: EL1).
void arch_check_cpu();
// DTB (arm64, required) or RSDP (x86_64) from the configuration tables.
void arch_fill_platform(efi::SystemTable* st, BootInfo& bi);
// Cache maintenance for a range the hypervisor will read with its MMU off (arm64).
void arch_clean_range(u64 addr, u64 size);
// After ExitBootServices: caches/MMU as the hypervisor expects, then jump.
[[noreturn]] void arch_enter(u64 entry, BootInfo* bi);

// --- measurements (measure.cpp) ---------------------------------------------------
constexpr u32 kMeasurePcr = 8;
constexpr u32 kEvImage = 0x0000000d;  // EV_IPL
constexpr u32 kEvConfig = 0x0000000e; // EV_IPL_PARTITION_DATA: reused for the boot config

struct EventLog {
    u8* base = nullptr;
    usize capacity = 0;
    usize used = 0;
};

struct Tpm {
    efi::Tcg2Protocol* tcg2 = nullptr;
    u32 active_banks = 0;
};

// Locates EFI_TCG2_PROTOCOL; false (and a printed line) when there is no TPM.
bool tpm_open(efi::BootServices* bs, Tpm& tpm);
// The longest event description measure() takes: the configuration event's fixed prefix
// (160 bytes at most) and a keel.cfg of up to 255 bytes (main.cpp).
constexpr usize kMaxEventDescription = 160 + BootInfo::kCmdlineMax;
// Appends a TCG_PCR_EVENT2-style record (SHA-384 and SHA-256 of data) to the log and,
// with a TPM, extends the PCR through HashLogExtendEvent. Refuses on failure.
void measure(EventLog& log, Tpm* tpm, u32 type, const void* data, usize len, const char* desc,
             u8 (&sha384_out)[crypto::kSha384Size]);
// Reads kMeasurePcr back (TPM2_PCR_Read via SubmitCommand) and prints it.
void tpm_print_pcr(Tpm& tpm);

// TPM command and response fields are big-endian (TPM 2.0 Part 1, 18.2).
inline void put_be32(u8* p, u32 v) {
    for (int i = 0; i < 4; ++i)
        p[i] = static_cast<u8>(v >> (24 - 8 * i));
}
inline void put_be16(u8* p, u16 v) {
    p[0] = static_cast<u8>(v >> 8);
    p[1] = static_cast<u8>(v);
}
inline u32 get_be32(const u8* p) {
    return (u32(p[0]) << 24) | (u32(p[1]) << 16) | (u32(p[2]) << 8) | p[3];
}
inline u16 get_be16(const u8* p) { return static_cast<u16>((p[0] << 8) | p[1]); }

// --- the security floor in the TPM (tpm_floor.cpp) ---------------------------------
// An NV index of type TPM_NT_BITS (bits can only be set, never cleared, short of deleting
// the index): floor f is kept as bit f-1, the floor is the highest set bit + 1, so it can
// only rise, up to kTpmFloorMax. Defined on first use under the owner hierarchy.
constexpr u32 kTpmFloorIndex = 0x01004b45; // owner NV range (TPM 2.0 Part 2, 13.4)
constexpr u32 kTpmFloorMax = 64;
// The floor the TPM holds (0 if the index was never written). False when the index cannot
// be defined or read (it says why).
bool tpm_floor_read(Tpm& tpm, u32& floor);
// Sets bit floor-1; false when the TPM refused (the floor is then not kept there).
bool tpm_floor_raise(Tpm& tpm, u32 floor);
// Write-locks the index until the TPM's next startup (the next boot): nothing after the stage
// can set bits (raise the floor to refuse every image) before the machine restarts.
bool tpm_floor_lock(Tpm& tpm);

} // namespace keel
