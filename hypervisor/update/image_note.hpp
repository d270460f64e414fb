// The Keel image note (docs/handover.md §1): 64 bytes at a fixed place in every image,
// inside the first segment's signed and hashed bytes, saying which handover records the
// image can adopt. A running Keel reads it from an incoming image only after the image
// passed the boot stage's checks (boot/image/keel_image.cpp), so every byte of it is
// authenticated by then.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::update {

constexpr u64 kNoteMagic = 0x45544f4e4c45454bull; // "KEELNOTE"
constexpr u32 kNoteVersion = 1;
// From the start of segment 0's file bytes: right after arm64's 64-byte Image header.
constexpr u64 kNoteOffset = 0x40;
// The handover record version this Keel writes and the range it can adopt (docs/handover.md §2).
// 2: the VgicDist record (a VM's distributor state); a version-1 record lacks it, so an
// image that adopts VMs cannot take one. 3: VmDevices (the emulated UART's and GPIO's
// registers), MailboxVm (the controller's name, command line and times of each VM) and
// OldImage's device-tree address, without which an adopting image cannot go on. 4: OldImage
// names the cores online, the stage-2 table region, the quiesce's start and entropy for the
// incoming image, which stays (it no longer hands back after adopting). 5: OldImage names
// the outgoing image's pristine copy and a rollback flag: an incoming image commits only on
// the controller's word and rolls back to the outgoing image without it (§4.7). 6: the I/O
// state (Io, Vf, VmPci): assigned VFs keep their DMA and MSIs across the swap, which an image
// that cannot adopt them would cut off; and OldImage's RSDP and command line (UEFI boots).
// 7: x86_64's VMs (VcpuX86, X86Devices); an arm64 record of 6 is one of 7 without them, so
// the range starts at 6. 8: x86_64's X86Clock (the TSC's and the local APIC timer's rates,
// so the incoming image measures neither inside the blackout); a record of 7 is one of 8
// without it, and a writer writes 7 for a reader that reads no newer (a rollback, §4.7).
constexpr u32 kHandoverAbi = 8;
constexpr u32 kHandoverAbiMin = 6;

struct ImageNote {
    u64 magic;            // kNoteMagic
    u32 note_version;     // kNoteVersion
    u32 handover_min;     // oldest handover record version the image adopts
    u32 handover_max;     // newest handover record version the image adopts
    u32 handover_written; // the version it writes at its own next update
    char version[32];     // the image's version string, NUL-terminated (KEEL_VERSION_STRING)
    u32 flags;            // kNoteFlag*; other bits zero
    u8 reserved[4];       // zero
};
// A test image (docs/handover.md §4.6): adopts everything, then fails its health check on
// purpose and hands back, so the rollback is exercised. Signed like any image; set in the
// note before signing (the tests patch the ELF), never by the build.
constexpr u32 kNoteFlagFailHealthCheck = 1u << 0;
constexpr u32 kNoteFlagsKnown = kNoteFlagFailHealthCheck;
static_assert(sizeof(ImageNote) == 64, "docs/handover.md §1: the image note is 64 bytes");
static_assert(__builtin_offsetof(ImageNote, version) == 24, "docs/handover.md §1");

// This image's own note (hypervisor/update/image_note.cpp; arm64 linker.ld places it at
// kNoteOffset).
extern "C" [[gnu::section(".rodata.keel_note")]] const ImageNote keel_image_note;

// The record versions this image reads and the one it writes, as its note says: read as
// memory, so that a test can patch the note of an image it boots to make it read and write
// an older version (docs/handover.md §5.1, an image of ABI 7). A note outside what this code
// can read and write (kHandoverAbiMin..kHandoverAbi, written inside its range) counts as the
// build's own.
struct HandoverRange {
    u32 min, max, written;
};
[[nodiscard]] HandoverRange own_handover_range();
// Pure: a note's three fields kept as they are, or this build's range.
[[nodiscard]] HandoverRange handover_range(u32 min, u32 max, u32 written);

} // namespace keel::update
