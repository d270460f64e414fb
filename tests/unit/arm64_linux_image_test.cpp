// arm64 Linux Image header checks and the guest RAM layout (arch/arm64/linux_loader.hpp).
#include <gtest/gtest.h>

#include "arch/arm64/linux_loader.hpp"

using namespace keel;
using namespace keel::arm64;

namespace {

ImageHeader debian_like() {
    ImageHeader h{};
    h.code0 = 0xfa405a4d; // "MZ" + branch, as an EFI-stub kernel starts
    h.text_offset = 0;
    h.image_size = 32832 * KiB;
    h.flags = 0xa; // LE, 4 KiB pages, anywhere in RAM
    h.magic = kImageMagic;
    return h;
}

} // namespace

TEST(Arm64LinuxImage, AcceptsAModernLittleEndianImage) {
    EXPECT_EQ(check_image_header(debian_like()), Status::Ok);
}

TEST(Arm64LinuxImage, RejectsBadMagicZeroSizeBigEndianAndHugeFields) {
    ImageHeader h = debian_like();
    h.magic = 0x644d5242;
    EXPECT_EQ(check_image_header(h), Status::Corrupt);
    h = debian_like();
    h.image_size = 0; // pre-3.17 kernel
    EXPECT_EQ(check_image_header(h), Status::Corrupt);
    h = debian_like();
    h.flags |= kImageFlagBigEndian;
    EXPECT_EQ(check_image_header(h), Status::Unsupported);
    h = debian_like();
    h.image_size = ~0ull;
    EXPECT_EQ(check_image_header(h), Status::OutOfRange);
    h = debian_like();
    h.text_offset = 1ull << 40;
    EXPECT_EQ(check_image_header(h), Status::OutOfRange);
}

TEST(Arm64LinuxImage, LayoutPlacesInitrdAndDtbOnTwoMiBBoundaries) {
    LinuxLayout l{};
    ASSERT_EQ(linux_layout(debian_like(), 963 * KiB, 256 * MiB, &l), Status::Ok);
    EXPECT_EQ(l.kernel_off, 0u);
    EXPECT_EQ(l.initrd_off, 34 * MiB); // 32832 KiB rounded up to 2 MiB
    EXPECT_EQ(l.dtb_off, 36 * MiB);    // what the two-VM test logs: dtb at ipa 0x42400000
    ImageHeader h = debian_like();
    h.text_offset = 0x80000; // older kernels
    ASSERT_EQ(linux_layout(h, 0, 256 * MiB, &l), Status::Ok);
    EXPECT_EQ(l.kernel_off, 0x80000u);
    EXPECT_EQ(l.initrd_off, 34 * MiB);
    EXPECT_EQ(l.dtb_off, 34 * MiB); // no initrd: the DTB takes its place
}

TEST(Arm64LinuxImage, LayoutRefusesWhatDoesNotFit) {
    LinuxLayout l{};
    EXPECT_EQ(linux_layout(debian_like(), 0, 34 * MiB, &l),
              Status::OutOfRange); // no room for the DTB
    EXPECT_EQ(linux_layout(debian_like(), 0, 36 * MiB, &l), Status::Ok);
    EXPECT_EQ(linux_layout(debian_like(), 64 * MiB, 64 * MiB, &l), Status::OutOfRange);
    EXPECT_EQ(linux_layout(debian_like(), ~0ull, 64 * MiB, &l), Status::OutOfRange);
}
