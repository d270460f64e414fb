// Placing a verified incoming image in the run slot (docs/handover.md §1.4,
// hypervisor/update/place.cpp): layout by load address, zeroed gaps and tails, hashes checked
// on the placed bytes, refusals that leave nothing runnable. And restoring an outgoing image
// from its pristine copy for a rollback (§4.7).
#include <gtest/gtest.h>

#include <cstring>
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

// A rollback's restore (§4.7), checked byte by byte against the rule as docs/handover.md
// states it: the span before the changed bytes (.text) untouched, the changed bytes equal to
// the copy, everything else after them zero except the copy, which stays.
struct Restore {
    static constexpr u64 kSpan = 64 * KiB;
    std::vector<u8> image = std::vector<u8>(kSpan);
    OldImageRecord o{};
    Restore(u64 offset, u64 size, u64 copy) {
        o.span = kSpan;
        strcpy(o.version, "0.1.0");
        o.restore_offset = offset;
        o.restore_size = size;
        o.restore_copy = copy;
        for (u64 i = 0; i < kSpan; ++i)
            image[i] = static_cast<u8>(0xa0 + i % 7); // text, dirty data, .bss: all non-zero
        for (u64 i = 0; i < size && copy + i < kSpan; ++i)
            image[copy + i] = pristine(i);
    }
    static u8 pristine(u64 i) { return static_cast<u8>(i * 31 + 1); }
    void expect_restored(const char* what) const {
        for (u64 i = 0; i < kSpan; ++i) {
            u8 want = 0;
            if (i >= o.restore_copy && i < o.restore_copy + o.restore_size)
                want = pristine(i - o.restore_copy); // the copy stays
            else if (i < o.restore_offset)
                want = static_cast<u8>(0xa0 + i % 7); // .text: untouched
            else if (i < o.restore_offset + o.restore_size)
                want = pristine(i - o.restore_offset);
            ASSERT_EQ(image[i], want) << what << ": byte " << i;
        }
    }
};

TEST(UpdateRestore, TheCopyAfterTheImageAsLinkerLdPutsIt) {
    Restore r(0x3000, 0x2000, 0xc000); // .rodata+.data at 12 KiB, .pristine near the end
    ASSERT_EQ(restore_image(r.image.data(), r.o), Status::Ok);
    r.expect_restored("copy after");
}

TEST(UpdateRestore, TheCopyRightBehindTheBytesAndAtTheSpansEnd) {
    Restore behind(0x1000, 0x1000, 0x2000);
    ASSERT_EQ(restore_image(behind.image.data(), behind.o), Status::Ok);
    behind.expect_restored("right behind");
    Restore at_end(0x1000, 0x1000, Restore::kSpan - 0x1000);
    ASSERT_EQ(restore_image(at_end.image.data(), at_end.o), Status::Ok);
    at_end.expect_restored("at the end");
}

TEST(UpdateRestore, ACopyBeforeTheBytes) {
    Restore r(0x8000, 0x1000, 0x2000);
    ASSERT_EQ(restore_image(r.image.data(), r.o), Status::Ok);
    r.expect_restored("copy before");
}

TEST(UpdateRestore, ARecordThatBreaksTheRulesWritesNothing) {
    Restore overlap(0x3000, 0x2000, 0x4000);
    const std::vector<u8> before = overlap.image;
    EXPECT_EQ(restore_image(overlap.image.data(), overlap.o), Status::InvalidArgument);
    EXPECT_EQ(overlap.image, before);
    Restore past(0x3000, 0x2000, Restore::kSpan - 0x1000);
    EXPECT_EQ(restore_image(past.image.data(), past.o), Status::InvalidArgument);
    Restore none(0, 0, 0);
    const std::vector<u8> untouched = none.image;
    EXPECT_EQ(restore_image(none.image.data(), none.o), Status::BadState) << "no copy";
    EXPECT_EQ(none.image, untouched);
    EXPECT_EQ(restore_image(nullptr, Restore(0x1000, 0x1000, 0x2000).o), Status::InvalidArgument);
}

} // namespace
} // namespace keel::update
