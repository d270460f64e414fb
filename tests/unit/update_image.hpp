// A signed keel.img with an image note for the live-update tests (docs/handover.md §1):
// two segments, the note at kNoteOffset of segment 0, built and signed here with
// keel-sign's key code. Not a *_test.cpp, so the unit-test glob does not compile it alone.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "boot/image/keel_image.hpp"
#include "hypervisor/update/image_check.hpp"
#include "image_sign_util.hpp"
#include "tools/keel-sign/keys.hpp"

namespace keel::update::test {

inline const sign::PrivateKey& signing_key(bool other = false) {
    static sign::PrivateKey keys[2];
    static bool made = false;
    if (!made) {
        std::string err;
        EXPECT_TRUE(sign::keygen(keys[0], err)) << err;
        EXPECT_TRUE(sign::keygen(keys[1], err)) << err;
        made = true;
    }
    return keys[other ? 1 : 0];
}

struct ImageSpec {
    image::Arch arch = image::Arch::Arm64;
    u32 security_version = 2;
    bool other_key = false;
    bool with_note = true;
    u32 handover_min = kHandoverAbiMin, handover_max = kHandoverAbi;
    const char* version = "9.8.7-next";
};

inline std::vector<u8> make_update_image(const ImageSpec& spec = {}) {
    using namespace image;
    const sign::PrivateKey& key = signing_key(spec.other_key);
    std::vector<u8> img(kPayloadMin, 0);
    Header h{};
    h.magic = kMagic;
    h.format_version = kFormatVersion;
    h.header_size = sizeof(Header);
    h.arch = static_cast<u32>(spec.arch);
    h.hv_version = 0x090807;
    h.security_version = spec.security_version;
    h.entry = 0x40200000;
    h.segment_count = 2;
    const u64 loads[2] = {0x40200000, 0x40300000};
    const usize sizes[2] = {8192, 700};
    for (u32 i = 0; i < 2; ++i) {
        Segment& s = h.segments[i];
        s.load_addr = loads[i];
        s.file_offset = img.size();
        s.file_size = sizes[i];
        s.mem_size = sizes[i] + 4096;
        for (usize b = 0; b < sizes[i]; ++b)
            img.push_back(static_cast<u8>(b * 13 + i));
        if (i == 0 && spec.with_note) {
            ImageNote n{};
            n.magic = kNoteMagic;
            n.note_version = kNoteVersion;
            n.handover_min = spec.handover_min;
            n.handover_max = spec.handover_max;
            n.handover_written = spec.handover_max;
            strncpy(n.version, spec.version, sizeof n.version - 1);
            memcpy(img.data() + s.file_offset + kNoteOffset, &n, sizeof n);
        }
        crypto::sha384(img.data() + s.file_offset, s.file_size, s.sha384);
        while (img.size() % kSegmentAlign)
            img.push_back(0);
    }
    h.image_size = img.size();
    key_id_of(key.pub, h.key_id);
    image::test::write_signed_header(img, h, key);
    return img;
}

// What a running arm64 Keel with floor 1 expects, trusting signing_key().
inline Expect arm64_expect(u32 floor = 1) {
    Expect e;
    memcpy(e.anchor.public_key, signing_key().pub, sizeof e.anchor.public_key);
    e.policy = image::Policy{image::Arch::Arm64, floor};
    e.handover_written = kHandoverAbi;
    return e;
}

} // namespace keel::update::test
