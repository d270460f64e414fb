// keel.img verification (docs/image-format.md "Verification order").
#include "boot/image/keel_image.hpp"

#include <string.h>

#include "hypervisor/bytes.hpp"

namespace keel::image {
namespace {

// a + b without wrapping; false on overflow.
bool add_ok(u64 a, u64 b, u64& sum) {
    sum = a + b;
    return sum >= a;
}

Refusal check_segments(const Header& h) {
    if (h.segment_count == 0 || h.segment_count > kMaxSegments) return Refusal::BadField;
    bool entry_inside = false;
    for (u32 i = 0; i < kMaxSegments; ++i) {
        const Segment& s = h.segments[i];
        if (i >= h.segment_count) {
            if (!all_zero(reinterpret_cast<const u8*>(&s), sizeof(s))) return Refusal::BadField;
            continue;
        }
        u64 file_end = 0, mem_end = 0;
        if (s.file_size == 0 || s.mem_size < s.file_size) return Refusal::BadField;
        if (s.file_offset < kPayloadMin || s.file_offset % kSegmentAlign != 0)
            return Refusal::BadField;
        if (!add_ok(s.file_offset, s.file_size, file_end) || file_end > h.image_size)
            return Refusal::BadField;
        if (s.load_addr % kLoadAlign != 0 || !add_ok(s.load_addr, s.mem_size, mem_end))
            return Refusal::BadField;
        // Segments never overlap in memory (checked against every earlier one).
        for (u32 j = 0; j < i; ++j) {
            const Segment& o = h.segments[j];
            if (s.load_addr < o.load_addr + o.mem_size && o.load_addr < mem_end)
                return Refusal::BadField;
        }
        if (h.entry >= s.load_addr && h.entry < s.load_addr + s.file_size) entry_inside = true;
    }
    return entry_inside ? Refusal::None : Refusal::BadField;
}

} // namespace

const char* refusal_message(Refusal r) {
    switch (r) {
    case Refusal::None: return "ok";
    case Refusal::Truncated: return "truncated image";
    case Refusal::BadMagic: return "not a keel image (bad magic)";
    case Refusal::BadVersion: return "unsupported image format version";
    case Refusal::UnknownKey: return "unknown signing key";
    case Refusal::BadSignature: return "bad signature";
    case Refusal::WrongArch: return "image is for another architecture";
    case Refusal::Rollback: return "security version below the floor (rollback)";
    case Refusal::BadSize: return "image size does not match the file";
    case Refusal::BadField: return "header field out of bounds";
    case Refusal::SegmentHash: return "segment hash mismatch";
    case Refusal::CryptoError: return "signature verifier failed";
    }
    return "unknown refusal";
}

Status refusal_status(Refusal r) {
    switch (r) {
    case Refusal::None: return Status::Ok;
    case Refusal::Truncated: return Status::Truncated;
    case Refusal::BadMagic:
    case Refusal::BadVersion:
    case Refusal::BadSize:
    case Refusal::BadField: return Status::Corrupt;
    case Refusal::UnknownKey: return Status::AuthFailed;
    case Refusal::BadSignature: return Status::BadSignature;
    case Refusal::WrongArch: return Status::WrongArch;
    case Refusal::Rollback: return Status::Rollback;
    case Refusal::SegmentHash: return Status::HashMismatch;
    case Refusal::CryptoError: return Status::NoMemory;
    }
    return Status::Corrupt;
}

void key_id_of(const u8 (&public_key)[crypto::kP384PublicKeySize], u8 (&out)[kKeyIdSize]) {
    u8 digest[crypto::kSha384Size];
    crypto::sha384(public_key, sizeof(public_key), digest);
    memcpy(out, digest, kKeyIdSize);
}

Refusal verify_header(const u8* head, usize head_len, u64 file_size, const TrustAnchor& anchor,
                      const Policy& policy, VerifiedHeader& out) {
    memset(&out, 0, sizeof(out));
    if (head == nullptr || file_size < kPayloadMin || head_len < kPayloadMin)
        return Refusal::Truncated;

    // One copy of the header and the signature; everything below reads the copies.
    Header& h = out.header;
    u8 sig[crypto::kP384SignatureSize];
    memcpy(&h, head, sizeof(h));
    memcpy(sig, head + kSignatureOffset, sizeof(sig));

    // Unauthenticated, used only to refuse early with a precise reason.
    if (h.magic != kMagic) return Refusal::BadMagic;
    if (h.format_version != kFormatVersion || h.header_size != sizeof(Header))
        return Refusal::BadVersion;
    u8 expected_id[kKeyIdSize];
    key_id_of(anchor.public_key, expected_id);
    if (memcmp(expected_id, h.key_id, kKeyIdSize) != 0) return Refusal::UnknownKey;

    crypto::sha384(&h, sizeof(h), out.header_digest);
    Status s = crypto::ecdsa_p384_verify(anchor.public_key, out.header_digest,
                                         sizeof(out.header_digest), sig);
    if (s == Status::BadSignature) return Refusal::BadSignature;
    if (s != Status::Ok) return Refusal::CryptoError;

    // Authenticated from here on; still bounds-check everything.
    if (h.arch != static_cast<u32>(policy.arch)) return Refusal::WrongArch;
    if (h.security_version < policy.security_floor) return Refusal::Rollback;
    if (h.image_size > file_size) return Refusal::Truncated;
    if (h.image_size != file_size || h.image_size > kMaxImageSize) return Refusal::BadSize;
    if ((h.flags & ~kKnownFlags) != 0) return Refusal::BadField;
    if (!all_zero(h.reserved0, sizeof(h.reserved0)) || !all_zero(h.reserved1, sizeof(h.reserved1)))
        return Refusal::BadField;
    if (!(h.flags & kFlagControllerKey) && !all_zero(h.controller_key, sizeof(h.controller_key)))
        return Refusal::BadField;
    return check_segments(h);
}

Refusal verify_segment(const VerifiedHeader& vh, u32 index, const u8* bytes, usize len) {
    if (index >= vh.header.segment_count || bytes == nullptr) return Refusal::BadField;
    const Segment& s = vh.header.segments[index];
    if (len != s.file_size) return Refusal::BadField;
    u8 digest[crypto::kSha384Size];
    crypto::sha384(bytes, len, digest);
    return memcmp(digest, s.sha384, sizeof(digest)) == 0 ? Refusal::None : Refusal::SegmentHash;
}

} // namespace keel::image
