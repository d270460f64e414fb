// Linux's x86 boot protocol (arch/x86_64/linux_boot.*) against Documentation/arch/x86/
// boot.rst and zero-page.rst: a bzImage header written field by field from those tables
// (offsets restated here, not taken from the code), then each refusal the issue names
// (a corrupt header, an old protocol, a kernel larger than the VM, an initrd over the
// kernel) and the zero page's fields and E820 map.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "arch/x86_64/linux_boot.hpp"

using namespace keel;
using namespace keel::x86;

namespace {

constexpr u64 MiB_ = 1ull << 20;

void p16(std::vector<u8>& b, usize o, u16 v) { b[o] = u8(v), b[o + 1] = u8(v >> 8); }
void p32(std::vector<u8>& b, usize o, u32 v) { p16(b, o, u16(v)), p16(b, o + 2, u16(v >> 16)); }
void p64(std::vector<u8>& b, usize o, u64 v) { p32(b, o, u32(v)), p32(b, o + 4, u32(v >> 32)); }
u32 g32(const u8* p) {
    return u32(p[0]) | (u32(p[1]) << 8) | (u32(p[2]) << 16) | (u32(p[3]) << 24);
}
u64 g64(const u8* p) { return g32(p) | (u64(g32(p + 4)) << 32); }

// A 2.15 header like a distribution kernel's: 27 setup sectors, relocatable, 64-bit entry,
// 2 MiB alignment, pref_address 16 MiB, init_size 40 MiB, cmdline_size 2047.
std::vector<u8> header() {
    std::vector<u8> h(0x280, 0);
    h[0x1f1] = 27;                    // setup_sects
    p16(h, 0x1fe, 0xaa55);            // boot_flag
    h[0x200] = 0xeb, h[0x201] = 0x6a; // jump over the header: it ends at 0x202 + 0x6a = 0x26c
    p32(h, 0x202, 0x53726448);        // "HdrS"
    p16(h, 0x206, 0x020f);            // version 2.15
    h[0x211] = 0x81;                  // loadflags: LOADED_HIGH | CAN_USE_HEAP
    p16(h, 0x224, 0xfe00);            // heap_end_ptr
    p32(h, 0x22c, 0x7fffffff);        // initrd_addr_max
    p32(h, 0x230, 2 * MiB_);          // kernel_alignment
    h[0x234] = 1;                     // relocatable_kernel
    p16(h, 0x236, 0x7f);              // xloadflags: KERNEL_64 | CAN_BE_LOADED_ABOVE_4G | ...
    p32(h, 0x238, 2047);              // cmdline_size
    p64(h, 0x258, 16 * MiB_);         // pref_address
    p32(h, 0x260, 40 * MiB_);         // init_size
    return h;
}
constexpr u64 kFile = 8 * MiB_;

BzImage parsed(const std::vector<u8>& h) {
    BzImage bz{};
    EXPECT_EQ(parse_bzimage(h.data(), h.size(), kFile, bz), BzRefusal::None);
    return bz;
}

} // namespace

TEST(X86LinuxBoot, ReadsTheSetupHeader) {
    const BzImage bz = parsed(header());
    EXPECT_EQ(bz.version, 0x020f);
    EXPECT_EQ(bz.setup_bytes, 28u * 512);
    EXPECT_EQ(bz.kernel_bytes, kFile - 28 * 512);
    EXPECT_EQ(bz.init_size, 40 * MiB_);
    EXPECT_EQ(bz.alignment, 2 * MiB_);
    EXPECT_EQ(bz.pref_address, 16 * MiB_);
    EXPECT_EQ(bz.cmdline_max, 2047u);
    EXPECT_EQ(bz.setup_hdr_bytes, 0x26c - 0x1f1);
    auto h = header();
    h[0x1f1] = 0; // "if this field is 0, the real value is 4"
    EXPECT_EQ(parsed(h).setup_bytes, 5u * 512);
}

TEST(X86LinuxBoot, RefusesWhatIsNotABootableBzImage) {
    BzImage bz{};
    auto bad = [&](std::vector<u8> h, BzRefusal want, u64 file = kFile) {
        EXPECT_EQ(parse_bzimage(h.data(), h.size(), file, bz), want) << bz_refusal_text(want);
    };
    auto h = header();
    h[0x1fe] = 0; // boot flag
    bad(h, BzRefusal::NotBzImage);
    h = header();
    h[0x203] ^= 0xff; // magic
    bad(h, BzRefusal::NotBzImage);
    bad(header(), BzRefusal::NotBzImage, 0x100); // shorter than its own header
    h = header();
    p16(h, 0x206, 0x020b); // 2.11: no xloadflags, no 64-bit fields
    bad(h, BzRefusal::OldProtocol);
    h = header();
    p16(h, 0x236, 0x7e); // XLF_KERNEL_64 clear
    bad(h, BzRefusal::No64BitEntry);
    h = header();
    h[0x234] = 0;
    bad(h, BzRefusal::NotRelocatable);
    h = header();
    p32(h, 0x230, 3 * MiB_); // alignment not a power of two
    bad(h, BzRefusal::BadHeader);
    h = header();
    h[0x201] = 0x20; // a header too short to hold init_size
    bad(h, BzRefusal::BadHeader);
    bad(header(), BzRefusal::BadHeader, 28 * 512); // nothing after the setup
    std::vector<u8> small(0x100, 0);
    EXPECT_EQ(parse_bzimage(small.data(), small.size(), kFile, bz), BzRefusal::NotBzImage);
}

TEST(X86LinuxBoot, PlacesTheKernelAtPrefAddressWhenItFits) {
    const BzImage bz = parsed(header());
    LinuxLayout l{};
    ASSERT_EQ(plan_linux(bz, kFile, 0, 256 * MiB_, 128 * MiB_, 4 * MiB_, 100, l), BzRefusal::None);
    EXPECT_EQ(l.kernel, 16 * MiB_);
    EXPECT_EQ(l.entry, 16 * MiB_ + 0x200); // boot.rst "64-bit BOOT PROTOCOL": startup_64
    EXPECT_EQ(l.initrd, 128 * MiB_);
    EXPECT_LT(l.zero_page + 4096, 0x100000u);
    EXPECT_LT(l.cmdline + 2048, 0x100000u);
}

TEST(X86LinuxBoot, RefusesLayoutsThatDoNotWork) {
    const BzImage bz = parsed(header());
    LinuxLayout l{};
    // init_size 40 MiB from 16 MiB needs 56 MiB of RAM.
    EXPECT_EQ(plan_linux(bz, kFile, 0, 48 * MiB_, 0, 0, 10, l), BzRefusal::KernelTooLarge);
    EXPECT_EQ(plan_linux(bz, kFile, 0, 56 * MiB_, 0, 0, 10, l), BzRefusal::None);
    EXPECT_EQ(plan_linux(bz, 300 * MiB_, 0, 256 * MiB_, 0, 0, 10, l), BzRefusal::KernelTooLarge);
    // An initrd inside [16 MiB, 56 MiB), inside the file, or past the RAM.
    EXPECT_EQ(plan_linux(bz, kFile, 0, 256 * MiB_, 40 * MiB_, 4 * MiB_, 10, l),
              BzRefusal::InitrdOverlaps);
    EXPECT_EQ(plan_linux(bz, kFile, 0, 256 * MiB_, 4 * MiB_, 2 * MiB_, 10, l),
              BzRefusal::InitrdOverlaps);
    EXPECT_EQ(plan_linux(bz, kFile, 0, 256 * MiB_, 250 * MiB_, 8 * MiB_, 10, l),
              BzRefusal::InitrdOverlaps);
    // initrd_addr_max without CAN_BE_LOADED_ABOVE_4G.
    auto h = header();
    p32(h, 0x22c, 100 * MiB_ - 1);
    p16(h, 0x236, 0x01);
    EXPECT_EQ(plan_linux(parsed(h), kFile, 0, 256 * MiB_, 128 * MiB_, 4 * MiB_, 10, l),
              BzRefusal::InitrdTooHigh);
    EXPECT_EQ(plan_linux(bz, kFile, 0, 256 * MiB_, 0, 0, 2048, l), BzRefusal::CmdlineTooLong);
    EXPECT_EQ(plan_linux(bz, kFile, 0x40000000, 256 * MiB_, 0, 0, 10, l), BzRefusal::RamNotAtZero);
}

TEST(X86LinuxBoot, UnalignedPrefAddressFallsBackToAnAlignedOne) {
    auto h = header();
    p64(h, 0x258, 0x1100000); // 17 MiB: not 2 MiB aligned
    LinuxLayout l{};
    ASSERT_EQ(plan_linux(parsed(h), kFile, 0, 256 * MiB_, 128 * MiB_, 0, 10, l), BzRefusal::None);
    EXPECT_EQ(l.kernel % (2 * MiB_), 0u);
    EXPECT_GE(l.kernel, 16 * MiB_);
}

TEST(X86LinuxBoot, ZeroPageFields) {
    const auto h = header();
    const BzImage bz = parsed(h);
    LinuxLayout l{};
    ASSERT_EQ(plan_linux(bz, kFile, 0, 256 * MiB_, 128 * MiB_, 3 * MiB_ + 5, 20, l),
              BzRefusal::None);
    u8 zp[4096];
    memset(zp, 0xcc, sizeof zp);
    write_zero_page(zp, h.data(), bz, l, 0, 256 * MiB_);
    // The setup header from 0x1f1 to its end, with the loader's fields.
    EXPECT_EQ(zp[0x1f1], 27);
    EXPECT_EQ(g32(zp + 0x202), 0x53726448u);
    EXPECT_EQ(zp[0x210], 0xff);               // type_of_loader: undefined
    EXPECT_EQ(zp[0x211] & 0x80, 0);           // CAN_USE_HEAP off: no real-mode heap
    EXPECT_EQ(g32(zp + 0x228), l.cmdline);    // cmd_line_ptr
    EXPECT_EQ(g32(zp + 0x218), 128 * MiB_);   // ramdisk_image
    EXPECT_EQ(g32(zp + 0x21c), 3 * MiB_ + 5); // ramdisk_size
    EXPECT_EQ(g32(zp + 0x0c0), 0u);           // ext_ramdisk_image
    EXPECT_EQ(g64(zp + 0x070), l.acpi);       // acpi_rsdp_addr
    EXPECT_EQ(zp[0x26c], 0) << "nothing past the header's end";
    EXPECT_EQ(zp[0x000], 0) << "screen_info and the rest: zero";
    // E820 (zero-page.rst: count at 0x1e8, 20-byte entries at 0x2d0): ascending, no
    // overlaps, RAM covering all but the first MiB's holes, the ACPI tables typed 3.
    const u8 n = zp[0x1e8];
    ASSERT_GE(n, 3);
    u64 ram = 0, end = 0;
    bool acpi = false;
    for (u8 i = 0; i < n; ++i) {
        const u8* e = zp + 0x2d0 + 20 * i;
        const u64 base = g64(e), size = g64(e + 8);
        const u32 type = g32(e + 16);
        EXPECT_GE(base, end) << int(i);
        end = base + size;
        if (type == 1) ram += size;
        if (type == 3) acpi |= base <= l.acpi && l.acpi < base + size;
        EXPECT_FALSE(type == 1 && base < 0x100000 && base + size > 0x9fc00) << "EBDA/ROM hole";
    }
    EXPECT_EQ(end, 256 * MiB_);
    EXPECT_EQ(ram, 256 * MiB_ - 1 * MiB_ + 0x9fc00);
    EXPECT_TRUE(acpi);
}
