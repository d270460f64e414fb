// The boot-info record every entry path hands to the core: the arm64 Linux-Image
// direct boot, the x86 Multiboot1/2 direct boot, and the UEFI boot stage.
// Layout and field meanings: docs/boot-info.md. Fixed width, versioned, ABI.
#pragma once

#include "hypervisor/types.hpp"

namespace keel {

enum class BootArch : u32 { Arm64 = 1, X86_64 = 2 };

enum class BootSource : u32 {
    DirectArm64Image = 1, // QEMU -kernel, arm64 Linux Image protocol
    Multiboot1 = 2,       // QEMU -kernel on x86
    Multiboot2 = 3,       // GRUB multiboot2
    Uefi = 4,             // boot/ stage after signature check and measurement
};

// Where BootInfo::entropy came from (docs/boot-info.md).
enum class EntropySource : u32 { None = 0, EfiRng = 1, DtbRngSeed = 2 };

enum class MemType : u32 { Usable = 1, Reserved = 2, AcpiReclaim = 3, Hypervisor = 4 };

struct MemRange {
    u64 base;
    u64 size;
    MemType type;
    // Ranges from the UEFI memory map (boot stage): the EFI_MEMORY_TYPE plus one, or
    // kUefiMixed where the stage merged neighbours of different EFI types into one range
    // of the same MemType. 0 for ranges from anywhere else (DTB, Multiboot, the image).
    u32 uefi_type;

    static constexpr u32 kUefiMixed = 0xffffffffu;
    static constexpr u32 kUefiConventional = 7 + 1; // EfiConventionalMemory (UEFI 2.10 7.2)
};
static_assert(sizeof(MemRange) == 24, "docs/boot-info.md: MemRange is 24 bytes");

// Names of the EFI memory types (UEFI 2.10 Table 7.5, EFI_MEMORY_TYPE), for messages.
constexpr const char* efi_memory_type_name(u32 efi_type) {
    constexpr const char* kNames[] = {
        "reserved",     "loader-code",  "loader-data",  "boot-services-code", "boot-services-data",
        "runtime-code", "runtime-data", "conventional", "unusable",           "acpi-reclaim",
        "acpi-nvs",     "mmio",         "mmio-port",    "pal-code",           "persistent"};
    return efi_type < sizeof(kNames) / sizeof(kNames[0]) ? kNames[efi_type] : "other";
}

struct BootInfo {
    static constexpr u32 kMagic = 0x3149424b; // "KBI1"
    static constexpr u32 kVersion = 2;
    static constexpr u32 kMaxMem = 64;
    static constexpr u32 kCmdlineMax = 256;
    static constexpr u32 kEntropyMax = 32;

    u32 magic;
    u32 version;
    u32 size; // sizeof(BootInfo) as the producer built it
    BootArch arch;
    BootSource source;
    u32 mem_count;
    u64 image_base; // physical range of the running hypervisor image
    u64 image_size;
    u64 dtb;       // arm64: physical address of the flattened device tree, else 0
    u64 rsdp;      // x86: physical address of the ACPI RSDP, else 0
    u64 event_log; // measurements from the boot stage (TCG-style), 0 on direct boot
    u64 event_log_size;
    u8 image_digest[48]; // SHA-384 of keel.img as verified by the boot stage; zero on direct boot
    u32 flags;           // kFlag*
    u32 reserved0;
    MemRange mem[kMaxMem];
    char cmdline[kCmdlineMax];
    // Version 2: entropy and the boot counter from the boot stage (docs/boot-info.md).
    u8 entropy[kEntropyMax]; // kFlagEntropy: fresh random bytes (EFI_RNG_PROTOCOL, rng-seed)
    u32 entropy_len;         // bytes valid in entropy[]
    u32 entropy_source;      // EntropySource
    u64 boot_counter;        // kFlagBootCounter: persistent, incremented every boot
    u32 security_floor;      // kFlagSecurityFloor: the boot stage's floor after this boot
    u8 reserved1[12];

    static constexpr u32 kFlagVerified = 1u << 0;      // signature checked by the boot stage
    static constexpr u32 kFlagMeasured = 1u << 1;      // digest valid, event log present
    static constexpr u32 kFlagTpm = 1u << 2;           // PCRs extended through a TPM
    static constexpr u32 kFlagEntropy = 1u << 3;       // entropy[] holds boot-stage randomness
    static constexpr u32 kFlagBootCounter = 1u << 4;   // boot_counter is persistent
    static constexpr u32 kFlagSecurityFloor = 1u << 5; // security_floor is the stage's

    [[nodiscard]] bool valid() const {
        return magic == kMagic && version == kVersion && size == sizeof(BootInfo) &&
               mem_count <= kMaxMem;
    }
};
static_assert(sizeof(BootInfo) == 128 + 64 * 24 + 256 + 64, "docs/boot-info.md: BootInfo size");
static_assert(__builtin_offsetof(BootInfo, entropy) == 1920, "docs/boot-info.md: entropy");
static_assert(__builtin_offsetof(BootInfo, boot_counter) == 1960, "docs/boot-info.md: counter");
static_assert(__builtin_offsetof(BootInfo, security_floor) == 1968, "docs/boot-info.md: floor");

// The floor a live update's image must meet (docs/handover.md §1.2): the image's built-in
// one, raised to the boot stage's (what it keeps in its NV variable or TPM index and
// enforces at the next boot) when the stage passed it.
constexpr u32 update_floor(const BootInfo& bi, u32 built_in) {
    const bool stage = (bi.flags & BootInfo::kFlagSecurityFloor) != 0;
    return stage && bi.security_floor > built_in ? bi.security_floor : built_in;
}

} // namespace keel
