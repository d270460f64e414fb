// Live update, step one (docs/handover.md §1, docs/mailbox.md §3.10): an incoming keel.img
// is checked exactly as the boot stage checks it, plus the image note's handover ABI; each
// refusal has its own status and message (through the mailbox: mailbox_update_test.cpp).
#include <gtest/gtest.h>

#include <array>

#include <cstring>
#include <string>

#include "hypervisor/update/swap.hpp"
#include "update_image.hpp"

namespace keel::update {
namespace {

using test::arm64_expect;
using test::ImageSpec;
using test::make_update_image;

Outcome check(const std::vector<u8>& img, const Expect& e = arm64_expect()) {
    Outcome o;
    const Status s = check_image(img.data(), img.size(), e, o);
    EXPECT_EQ(s, o.status);
    return o;
}

TEST(UpdateCheck, NoteLayoutMatchesDocs) {
    EXPECT_EQ(sizeof(ImageNote), 64u);
    EXPECT_EQ(offsetof(ImageNote, handover_min), 12u);
    EXPECT_EQ(offsetof(ImageNote, handover_written), 20u);
    EXPECT_EQ(kNoteOffset, 0x40u) << "right after arm64's 64-byte Image header";
}

TEST(UpdateCheck, ThisBuildsOwnNoteAdoptsWhatItWrites) {
    const ImageNote& n = keel_image_note;
    EXPECT_EQ(n.magic, kNoteMagic);
    EXPECT_EQ(n.note_version, kNoteVersion);
    EXPECT_LE(n.handover_min, n.handover_written);
    EXPECT_GE(n.handover_max, n.handover_written);
    EXPECT_STREQ(n.version, KEEL_VERSION_STRING);
}

TEST(UpdateCheck, AcceptsASignedImageWithACompatibleNote) {
    const Outcome o = check(make_update_image());
    EXPECT_EQ(o.status, Status::Ok) << o.message;
    EXPECT_EQ(o.why, Refusal::None);
    EXPECT_EQ(o.security_version, 2u);
    EXPECT_EQ(o.hv_version, 0x090807u);
    EXPECT_STREQ(o.note.version, "9.8.7-next");
    EXPECT_NE(std::string(o.message).find("verified: 9.8.7-next"), std::string::npos) << o.message;
    ImageSpec same_floor;
    same_floor.security_version = 1;
    EXPECT_EQ(check(make_update_image(same_floor)).status, Status::Ok) << "equal to the floor";
}

TEST(UpdateCheck, BadSignature) {
    std::vector<u8> img = make_update_image();
    img[16] ^= 1; // hv_version: a signed header byte
    const Outcome o = check(img);
    EXPECT_EQ(o.status, Status::BadSignature);
    EXPECT_EQ(o.image, image::Refusal::BadSignature);
    EXPECT_STREQ(o.message, "bad signature");
    img = make_update_image();
    img[image::kSignatureOffset + 50] ^= 0x80;
    EXPECT_EQ(check(img).status, Status::BadSignature);
}

TEST(UpdateCheck, UnknownKey) {
    ImageSpec s;
    s.other_key = true;
    const Outcome o = check(make_update_image(s));
    EXPECT_EQ(o.image, image::Refusal::UnknownKey);
    EXPECT_EQ(o.status, Status::AuthFailed);
}

TEST(UpdateCheck, OlderSecurityVersion) {
    ImageSpec s;
    s.security_version = 4;
    const Outcome o = check(make_update_image(s), arm64_expect(5));
    EXPECT_EQ(o.status, Status::Rollback);
    EXPECT_STREQ(o.message, "security version below the floor (rollback) (image 4, floor 5)");
}

TEST(UpdateCheck, OtherArch) {
    ImageSpec s;
    s.arch = image::Arch::X86_64;
    const Outcome o = check(make_update_image(s));
    EXPECT_EQ(o.status, Status::WrongArch);
    EXPECT_STREQ(o.message, "image is for another architecture");
}

TEST(UpdateCheck, Truncated) {
    std::vector<u8> img = make_update_image();
    img.resize(img.size() - 100);
    EXPECT_EQ(check(img).status, Status::Truncated);
    img.resize(500); // not even a header block
    EXPECT_EQ(check(img).status, Status::Truncated);
    EXPECT_EQ(check(std::vector<u8>{}).status, Status::Truncated);
}

TEST(UpdateCheck, SegmentBytesChanged) {
    std::vector<u8> img = make_update_image();
    img[image::kPayloadMin + 8192 + 5] ^= 4; // inside segment 1
    const Outcome o = check(img);
    EXPECT_EQ(o.status, Status::HashMismatch);
    EXPECT_STREQ(o.message, "segment hash mismatch (segment 1)");
}

TEST(UpdateCheck, NoNoteMeansNoLiveUpdate) {
    ImageSpec s;
    s.with_note = false;
    const Outcome o = check(make_update_image(s));
    EXPECT_EQ(o.why, Refusal::NoNote);
    EXPECT_EQ(o.status, Status::Corrupt);
}

// The range an image reads and writes is its note's (a test patches an image's note to make
// one of an older ABI), unless the note names what this code cannot read or write.
TEST(UpdateCheck, TheHandoverRangeIsTheNotesWithinTheBuilds) {
    const HandoverRange own = own_handover_range();
    EXPECT_EQ(own.min, kHandoverAbiMin);
    EXPECT_EQ(own.max, kHandoverAbi);
    EXPECT_EQ(own.written, kHandoverAbi);
    auto same = [](HandoverRange r, u32 min, u32 max, u32 written) {
        return r.min == min && r.max == max && r.written == written;
    };
    EXPECT_TRUE(same(handover_range(6, 7, 7), 6, 7, 7)) << "an image of ABI 7, as a test makes one";
    EXPECT_TRUE(same(handover_range(8, 8, 8), 8, 8, 8));
    const u32 build[3] = {kHandoverAbiMin, kHandoverAbi, kHandoverAbi};
    for (const auto& [min, max, written] :
         {std::array<u32, 3>{5, 8, 8}, {6, 9, 8}, {6, 7, 8}, {7, 8, 6}, {8, 7, 8}})
        EXPECT_TRUE(same(handover_range(min, max, written), build[0], build[1], build[2]))
            << min << ".." << max << " writing " << written;
}

TEST(UpdateCheck, IncompatibleHandoverAbi) {
    ImageSpec s;
    s.handover_min = s.handover_max = kHandoverAbi + 1;
    Outcome o = check(make_update_image(s));
    EXPECT_EQ(o.why, Refusal::HandoverAbi);
    EXPECT_EQ(o.status, Status::Unsupported);
    EXPECT_EQ(std::string(o.message),
              "incompatible handover ABI (image adopts 9..9, this Keel writes 8)");
    s.handover_min = 0, s.handover_max = kHandoverAbi + 3;
    EXPECT_EQ(check(make_update_image(s)).status, Status::Ok) << "a range that holds it";
}

// The incoming image's answer in x0 (docs/handover.md §4 step 3): reason in bits 0..31,
// the Status in 32..63, both ways.
TEST(HandBackWord, CarriesReasonAndStatus) {
    EXPECT_EQ(encode_hand_back(HandBackReason::AdoptionNotBuilt, Status::Ok), 2u);
    const u64 w = encode_hand_back(HandBackReason::RecordRefused, Status::Corrupt);
    EXPECT_EQ(w, 1u | u64{static_cast<u32>(Status::Corrupt)} << 32);
    const HandBack hb = decode_hand_back(w);
    EXPECT_EQ(hb.reason, HandBackReason::RecordRefused);
    EXPECT_EQ(hb.status, Status::Corrupt);
    EXPECT_EQ(decode_hand_back(0).reason, HandBackReason::None);
}

} // namespace
} // namespace keel::update
