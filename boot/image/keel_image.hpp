// keel.img: the signed hypervisor image (docs/image-format.md). One format for the
// boot stage (boot/), the host signer (tools/keel-sign) and, later, live update.
//
//   offset 0      Header       (signed; kHeaderSize bytes)
//   kHeaderSize   signature    (ECDSA P-384 r||s over SHA-384 of the Header)
//   kPayloadMin.. segments     (each covered by its SHA-384 in the Header)
//
// Pure C++20, freestanding-clean: no allocation, no libc beyond mem*, crypto through
// crypto/ only. Every multi-byte field is little-endian.
#pragma once

#include "crypto/ecdsa.hpp"
#include "crypto/sha2.hpp"
#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::image {

constexpr u32 kMagic = 0x474d494b; // "KIMG"
constexpr u32 kFormatVersion = 1;
constexpr u32 kMaxSegments = 8;
constexpr u32 kKeyIdSize = 16;          // first 16 bytes of SHA-384(public key)
constexpr u64 kMaxImageSize = 64 * MiB; // boot stage's read limit
constexpr u64 kSegmentAlign = 16;       // file offsets
constexpr u64 kLoadAlign = 4096;        // load addresses (pages)

enum class Arch : u32 { Arm64 = 1, X86_64 = 2 }; // same values as BootArch

constexpr u32 kFlagControllerKey = 1u << 0; // controller_key holds a key
constexpr u32 kKnownFlags = kFlagControllerKey;

// docs/image-format.md "Segment".
struct Segment {
    u64 load_addr;   // physical, kLoadAlign aligned
    u64 file_offset; // from the start of keel.img, >= kPayloadMin, kSegmentAlign aligned
    u64 file_size;   // bytes copied from the file
    u64 mem_size;    // bytes occupied in memory (>= file_size; the tail is zeroed)
    u8 sha384[crypto::kSha384Size]; // SHA-384 of the file_size bytes
};
static_assert(sizeof(Segment) == 80, "docs/image-format.md: Segment is 80 bytes");

// docs/image-format.md "Header". The signature covers exactly these bytes.
struct Header {
    u32 magic;
    u32 format_version;
    u32 header_size;      // == sizeof(Header)
    u32 arch;             // Arch
    u32 hv_version;       // (major << 16) | (minor << 8) | patch
    u32 security_version; // anti-rollback: refused below the boot stage's floor
    u64 image_size;       // the whole file, signature and payload included
    u64 entry;            // physical entry point, inside a segment's file bytes
    u32 segment_count;    // 1..kMaxSegments; unused entries are zero
    u32 flags;            // kFlag*
    u8 controller_key[crypto::kP384PublicKeySize]; // mailbox authentication key (SEC1)
    u8 reserved0[7];
    Segment segments[kMaxSegments];
    u8 key_id[kKeyIdSize]; // which signing key made the signature
    u8 reserved1[120];     // zero
};
static_assert(sizeof(Header) == 928, "docs/image-format.md: Header is 928 bytes");

constexpr u64 kHeaderSize = sizeof(Header);
constexpr u64 kSignatureOffset = kHeaderSize;
constexpr u64 kPayloadMin = kSignatureOffset + crypto::kP384SignatureSize;
static_assert(kPayloadMin == 1024, "docs/image-format.md: payload starts at 1024 or later");

// Why an image was refused. Each has one fixed message (refusal_message()).
enum class Refusal : u32 {
    None = 0,
    Truncated,    // file shorter than the header block or than image_size
    BadMagic,     // not a keel.img
    BadVersion,   // format version or header size this code does not know
    UnknownKey,   // key id is not the built-in key's
    BadSignature, // ECDSA check failed
    WrongArch,    // signed for the other architecture
    Rollback,     // security version below the floor
    BadSize,      // image_size larger than the file claims or over the limit
    BadField,     // a header field out of bounds (segments, entry, flags, reserved)
    SegmentHash,  // a segment's bytes do not match its SHA-384
    CryptoError,  // the verifier itself failed (arena exhausted...)
};

const char* refusal_message(Refusal r);
Status refusal_status(Refusal r);

// The signing key the verifier trusts.
struct TrustAnchor {
    u8 public_key[crypto::kP384PublicKeySize]; // SEC1 uncompressed
};

// Key id of a public key: the first kKeyIdSize bytes of SHA-384 of its 97 bytes.
void key_id_of(const u8 (&public_key)[crypto::kP384PublicKeySize], u8 (&out)[kKeyIdSize]);

struct Policy {
    Arch arch;          // the machine's architecture
    u32 security_floor; // lowest acceptable security_version
};

// The header after verification: a private copy, taken once from the untrusted
// bytes, so nothing is re-read from a buffer an attacker could still change.
struct VerifiedHeader {
    Header header;
    u8 header_digest[crypto::kSha384Size]; // SHA-384 of the signed header bytes
};

// Verifies the header block at the start of keel.img.
//   head/head_len: the first bytes of the file (at least kPayloadMin when the file has them)
//   file_size:     the file's real size
// Before the signature is checked only magic, format version, header size and key id
// are looked at, and only to refuse. On success every header field is within bounds.
[[nodiscard]] Refusal verify_header(const u8* head, usize head_len, u64 file_size,
                                    const TrustAnchor& anchor, const Policy& policy,
                                    VerifiedHeader& out);

// Checks one segment's bytes (as copied to where they will run) against its hash.
[[nodiscard]] Refusal verify_segment(const VerifiedHeader& vh, u32 index, const u8* bytes,
                                     usize len);

} // namespace keel::image
