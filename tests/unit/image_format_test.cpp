// keel.img verification (boot/image/, docs/image-format.md): good images pass, and every
// corruption, truncation, policy violation and out-of-bounds field is refused.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "boot/image/keel_image.hpp"
#include "crypto/arena.hpp"
#include "image_sign_util.hpp"
#include "tools/keel-sign/keys.hpp"

namespace keel::image {
namespace {

struct Keys {
    sign::PrivateKey good{}, other{};
    Keys() {
        std::string err;
        EXPECT_TRUE(sign::keygen(good, err)) << err;
        EXPECT_TRUE(sign::keygen(other, err)) << err;
    }
};

const Keys& keys() {
    static Keys k;
    return k;
}

// A two-segment arm64 image; `edit` may change the header before it is signed.
std::vector<u8> make_image(const sign::PrivateKey& key,
                           void (*edit)(Header&, std::vector<u8>&) = nullptr) {
    std::vector<u8> img(kPayloadMin, 0);
    Header h{};
    h.magic = kMagic;
    h.format_version = kFormatVersion;
    h.header_size = sizeof(Header);
    h.arch = static_cast<u32>(Arch::Arm64);
    h.hv_version = 0x000100;
    h.security_version = 3;
    h.entry = 0x40200000;
    h.segment_count = 2;
    const u64 loads[2] = {0x40200000, 0x40210000};
    const usize sizes[2] = {5000, 300};
    for (u32 i = 0; i < 2; ++i) {
        while (img.size() % kSegmentAlign)
            img.push_back(0);
        Segment& s = h.segments[i];
        s.load_addr = loads[i];
        s.file_offset = img.size();
        s.file_size = sizes[i];
        s.mem_size = sizes[i] + 4096 * i;
        for (usize b = 0; b < sizes[i]; ++b)
            img.push_back(static_cast<u8>(b * 7 + i));
        crypto::sha384(img.data() + s.file_offset, s.file_size, s.sha384);
    }
    h.image_size = img.size();
    key_id_of(key.pub, h.key_id);
    if (edit) edit(h, img);
    test::write_signed_header(img, h, key);
    return img;
}

TrustAnchor anchor() {
    TrustAnchor a;
    memcpy(a.public_key, keys().good.pub, sizeof(a.public_key));
    return a;
}

constexpr Policy kPolicy{Arch::Arm64, 2};

Refusal check(const std::vector<u8>& img, Policy policy = kPolicy) {
    static VerifiedHeader vh;
    std::vector<u8> head(img);
    if (head.size() < kPayloadMin) head.resize(kPayloadMin, 0);
    Refusal r = verify_header(head.data(), head.size(), img.size(), anchor(), policy, vh);
    for (u32 i = 0; r == Refusal::None && i < vh.header.segment_count; ++i) {
        const Segment& s = vh.header.segments[i];
        r = verify_segment(vh, i, img.data() + s.file_offset, s.file_size);
    }
    return r;
}

TEST(ImageFormat, LayoutMatchesDocs) {
    EXPECT_EQ(offsetof(Header, segments), 152u);
    EXPECT_EQ(offsetof(Header, key_id), 792u);
    EXPECT_EQ(kSignatureOffset, 928u);
}

TEST(ImageFormat, GoodImageVerifies) {
    ASSERT_EQ(crypto::init(), Status::Ok);
    EXPECT_EQ(check(make_image(keys().good)), Refusal::None);
}

TEST(ImageFormat, PolicyRefusals) {
    auto img = make_image(keys().good);
    EXPECT_EQ(check(img, {Arch::X86_64, 2}), Refusal::WrongArch);
    EXPECT_EQ(check(img, {Arch::Arm64, 4}), Refusal::Rollback);
    EXPECT_EQ(check(img, {Arch::Arm64, 3}), Refusal::None);
    EXPECT_EQ(check(make_image(keys().other)), Refusal::UnknownKey);
    // Another key's signature under the good key's id.
    auto forged = make_image(
        keys().other, [](Header& h, std::vector<u8>&) { key_id_of(keys().good.pub, h.key_id); });
    EXPECT_EQ(check(forged), Refusal::BadSignature);
}

TEST(ImageFormat, TruncationAndSize) {
    auto img = make_image(keys().good);
    for (usize len : {usize(0), usize(1), usize(kHeaderSize), usize(kPayloadMin - 1),
                      usize(kPayloadMin), img.size() - 1}) {
        std::vector<u8> t(img.begin(), img.begin() + long(len));
        EXPECT_EQ(check(t), Refusal::Truncated) << len;
    }
    auto longer = img;
    longer.push_back(0);
    EXPECT_EQ(check(longer), Refusal::BadSize);
}

TEST(ImageFormat, SegmentBytes) {
    auto img = make_image(keys().good);
    const Header* h = reinterpret_cast<const Header*>(img.data());
    auto bad = img;
    bad[h->segments[1].file_offset + 299] ^= 0x80;
    EXPECT_EQ(check(bad), Refusal::SegmentHash);
}

// Signed, but out of bounds: the signature is not a licence to skip the checks.
TEST(ImageFormat, SignedButMalformed) {
    using Edit = void (*)(Header&, std::vector<u8>&);
    const Edit edits[] = {
        [](Header& h, std::vector<u8>&) { h.segment_count = 0; },
        [](Header& h, std::vector<u8>&) { h.segment_count = kMaxSegments + 1; },
        [](Header& h, std::vector<u8>&) { h.entry = 0x1000; },
        [](Header& h, std::vector<u8>&) {
            h.entry = h.segments[0].load_addr + h.segments[0].file_size;
        },
        [](Header& h, std::vector<u8>&) {
            h.segments[1].load_addr = h.segments[0].load_addr + 4096;
        },
        [](Header& h, std::vector<u8>&) { h.segments[0].load_addr += 8; },
        [](Header& h, std::vector<u8>&) { h.segments[0].file_offset = 512; },
        [](Header& h, std::vector<u8>&) { h.segments[1].file_offset += 1; },
        [](Header& h, std::vector<u8>&) { h.segments[1].file_size += 16; },
        [](Header& h, std::vector<u8>&) { h.segments[1].file_offset = ~0ull - 8; },
        [](Header& h, std::vector<u8>&) { h.segments[1].mem_size = 1; },
        [](Header& h, std::vector<u8>&) { h.segments[1].load_addr = ~0ull & ~0xfffull; },
        [](Header& h, std::vector<u8>&) { h.segments[2].mem_size = 1; },
        [](Header& h, std::vector<u8>&) { h.flags = 0x80; },
        [](Header& h, std::vector<u8>&) { h.reserved1[5] = 1; },
        [](Header& h, std::vector<u8>&) { h.controller_key[0] = 4; },
    };
    for (usize i = 0; i < sizeof(edits) / sizeof(edits[0]); ++i)
        EXPECT_EQ(check(make_image(keys().good, edits[i])), Refusal::BadField) << "edit " << i;
    auto big = make_image(keys().good,
                          [](Header& h, std::vector<u8>&) { h.image_size = kMaxImageSize + 16; });
    big.resize(kMaxImageSize + 16);
    EXPECT_EQ(check(big), Refusal::BadSize);
}

// One flipped bit of the header block (header or signature) at `bitpos`, through the real
// verify_header(); returns the refusal. A flip in the signature can only be BadSignature.
Refusal flip_and_check(std::vector<u8>& img, usize bitpos) {
    const usize off = bitpos / 8;
    const u8 mask = static_cast<u8>(1u << (bitpos % 8));
    img[off] ^= mask;
    const Refusal r = check(img);
    img[off] ^= mask;
    EXPECT_NE(r, Refusal::None) << "bit " << bitpos;
    if (off >= kHeaderSize) {
        EXPECT_EQ(r, Refusal::BadSignature) << "bit " << bitpos;
    }
    return r;
}

// The fields looked at before the signature (magic, version, header size, key id): bytes
// 0-11 and the key id.
bool unauthenticated_field(usize off) {
    return off < 12 || (off >= offsetof(Header, key_id) && off < offsetof(Header, key_id) + 16);
}

// Property: a flipped bit anywhere in the header block is refused. The default suite flips
// one bit in every byte, the bit position rotating with the byte offset (so every 8-byte
// field sees all eight positions), and every bit of the fields checked before the
// signature; each flip costs one P-384 verification. All kPayloadMin * 8 bits: label long
// (ImageFormatLong below, about 100 s under ASan on two busy cores).
TEST(ImageFormat, EveryHeaderBitFlipIsRefused) {
    auto img = make_image(keys().good);
    const auto good = img;
    usize flips = 0;
    for (usize off = 0; off < kPayloadMin; ++off) {
        for (usize b = 0; b < 8; ++b) {
            if (b != off % 8 && !unauthenticated_field(off)) continue;
            (void)flip_and_check(img, off * 8 + b);
            ++flips;
        }
    }
    EXPECT_EQ(img, good) << "every flip was undone";
    EXPECT_EQ(flips, kPayloadMin + 7 * (12 + 16));
}

TEST(ImageFormatLong, EveryHeaderBitFlipIsRefused) {
    auto img = make_image(keys().good);
    usize bad_signature = 0;
    for (usize bitpos = 0; bitpos < kPayloadMin * 8; ++bitpos)
        bad_signature += flip_and_check(img, bitpos) == Refusal::BadSignature;
    // Everything but magic, version, header size and key id reaches the signature check.
    EXPECT_EQ(bad_signature, (kPayloadMin - 12 - 16) * 8);
}

// Property: random and randomly-corrupted inputs never verify and never read out of bounds (ASan).
TEST(ImageFormat, RandomInputsNeverVerify) {
    const auto img = make_image(keys().good);
    std::mt19937 rng(777);
    for (int iter = 0; iter < 300; ++iter) {
        std::vector<u8> bad;
        if (iter % 2) {
            bad.resize(rng() % 4096);
            for (u8& b : bad)
                b = static_cast<u8>(rng());
            if (bad.size() >= 4 && iter % 4 == 1) memcpy(bad.data(), &kMagic, 4);
        } else {
            bad = img;
            for (int k = 0; k < 3; ++k)
                bad[rng() % bad.size()] ^= static_cast<u8>(1u << (rng() % 8));
            bad.resize(rng() % 3 ? bad.size() : rng() % bad.size());
        }
        EXPECT_NE(check(bad), Refusal::None) << iter;
    }
    EXPECT_EQ(crypto::arena().stats().in_use, 0u);
}

TEST(ImageFormat, RefusalMessagesAreDistinct) {
    for (u32 a = 1; a <= u32(Refusal::CryptoError); ++a)
        for (u32 b = a + 1; b <= u32(Refusal::CryptoError); ++b)
            EXPECT_STRNE(refusal_message(Refusal(a)), refusal_message(Refusal(b)));
}

} // namespace
} // namespace keel::image
