// Placing a verified incoming image in the run slot (docs/handover.md §1.4,
// hypervisor/update/place.cpp): layout by load address, zeroed gaps and tails, hashes checked
// on the placed bytes, refusals that leave nothing runnable.
#include <gtest/gtest.h>

#include <vector>

#include "hypervisor/update/place.hpp"
#include "update_image.hpp"

namespace keel::update {
namespace {

using test::make_update_image;

TEST(UpdatePlace, LaysOutEachSegmentAtItsOffsetFromTheLowestLoadAddress) {
    const std::vector<u8> img = make_update_image(); // segments at 0x40200000 and 0x40300000
    std::vector<u8> slot(2 * MiB, 0xaa);
    Placement p;
    ASSERT_EQ(place_image(img.data(), img.size(), slot.data(), slot.size(), p), Status::Ok)
        << p.message;
    EXPECT_EQ(p.span, MiB + 700 + 4096);
    EXPECT_EQ(p.entry_offset, 0u);
    EXPECT_STREQ(p.message, "placed: 1028 KiB, entry at +0x0");
    for (usize b : {usize(0), usize(200), usize(8191)}) // (the note is at 0x40)
        EXPECT_EQ(slot[b], static_cast<u8>(b * 13)) << b;
    EXPECT_EQ(slot[8192], 0u) << "segment 0's .bss";
    EXPECT_EQ(slot[512 * KiB], 0u) << "the gap between the segments";
    EXPECT_EQ(slot[MiB + 699], static_cast<u8>(699 * 13 + 1));
    EXPECT_EQ(slot[MiB + 700], 0u);
    EXPECT_EQ(slot[p.span - 1], 0u);
    EXPECT_EQ(slot[p.span], 0xaa) << "nothing written past the span";
}

TEST(UpdatePlace, AnImageLargerThanTheSlotIsRefusedAndNothingWritten) {
    const std::vector<u8> img = make_update_image();
    std::vector<u8> slot(MiB, 0xaa);
    Placement p;
    EXPECT_EQ(place_image(img.data(), img.size(), slot.data(), slot.size(), p), Status::OutOfRange);
    EXPECT_STREQ(p.message, "image spans 1028 KiB, the run slot holds 1024 KiB");
    EXPECT_EQ(slot[0], 0xaa);
}

TEST(UpdatePlace, ASegmentThatNoLongerHashesIsRefusedAndTheSlotWiped) {
    std::vector<u8> img = make_update_image();
    image::Header h;
    memcpy(&h, img.data(), sizeof h);
    img[h.segments[1].file_offset + 10] ^= 1; // changed after the check: must not run
    std::vector<u8> slot(2 * MiB, 0xaa);
    Placement p;
    EXPECT_EQ(place_image(img.data(), img.size(), slot.data(), slot.size(), p), Status::Corrupt);
    EXPECT_STREQ(p.message, "placed segment 1 does not match its hash");
    for (usize b : {usize(0), usize(5), usize(MiB + 10)})
        EXPECT_EQ(slot[b], 0u) << b;
}

TEST(UpdatePlace, SomethingThatIsNotAnImageIsRefused) {
    std::vector<u8> junk(4096, 0);
    std::vector<u8> slot(MiB, 0xaa);
    Placement p;
    EXPECT_EQ(place_image(junk.data(), 100, slot.data(), slot.size(), p), Status::InvalidArgument);
    EXPECT_EQ(place_image(junk.data(), junk.size(), slot.data(), slot.size(), p),
              Status::InvalidArgument)
        << "no segments";
    EXPECT_EQ(slot[0], 0xaa);
}

} // namespace
} // namespace keel::update
