// Loading an unmodified arm64 Linux Image into a VM (Documentation/arch/arm64/booting.rst):
// Image at a 2 MiB aligned base + text_offset, initramfs and a per-VM device tree
// behind it, entry with x0 = DTB IPA, x1-x3 = 0, MMU off, D-cache clean to PoC.
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::arm64 {

// The arm64 Image header (booting.rst "Call the kernel image": 64 bytes at offset 0).
struct ImageHeader {
    u32 code0, code1;
    u64 text_offset; // little-endian
    u64 image_size;  // bytes the kernel occupies from the load address, bss included
    u64 flags;
    u64 res2, res3, res4;
    u32 magic; // "ARM\x64"
    u32 res5;
};
static_assert(sizeof(ImageHeader) == 64 && __builtin_offsetof(ImageHeader, magic) == 0x38);
constexpr u32 kImageMagic = 0x644d5241;
constexpr u64 kImageFlagBigEndian = 1; // flags bit 0 (booting.rst): kernel endianness

// Whether `h` is an Image Keel can boot: the magic, a non-zero image_size (kernels
// before 3.17 leave it 0 and need the old fixed-offset protocol), little-endian, and
// sizes that cannot wrap. Pure: host unit tests.
constexpr Status check_image_header(const ImageHeader& h) {
    if (h.magic != kImageMagic || h.image_size == 0) return Status::Corrupt;
    if (h.flags & kImageFlagBigEndian) return Status::Unsupported;
    if (h.text_offset >= (1ull << 32) || h.image_size >= (1ull << 40)) return Status::OutOfRange;
    return Status::Ok;
}

// Where each piece goes, as offsets from the VM's RAM base (file comment of
// linux_loader.cpp): Image at text_offset, initramfs and DTB each at the next 2 MiB.
struct LinuxLayout {
    u64 kernel_off, initrd_off, dtb_off;
};
constexpr u64 kLinuxDtbMax = 64 * KiB;
constexpr Status linux_layout(const ImageHeader& h, u64 initrd_size, u64 ram_size,
                              LinuxLayout* out) {
    const Status s = check_image_header(h);
    if (s != Status::Ok) return s;
    const u64 block = 2 * MiB;
    const u64 kernel_end = align_up(h.text_offset + h.image_size, block);
    if (initrd_size > ram_size) return Status::OutOfRange;
    const u64 dtb_off = align_up(kernel_end + initrd_size, block);
    if (dtb_off + kLinuxDtbMax > ram_size) return Status::OutOfRange;
    *out = LinuxLayout{h.text_offset, kernel_end, dtb_off};
    return Status::Ok;
}

// Builds the VM's device tree into `buf` (guest_dtb.cpp).
struct GuestDtbInfo {
    u64 ram_ipa, ram_size;
    u32 nvcpus;
    u64 initrd_start, initrd_end; // 0, 0: none
    const char* bootargs;
    bool pci = false; // a host bridge over the guest ECAM (the VM has assigned VFs)
};
Status build_guest_dtb(const GuestDtbInfo& info, void* buf, u32 size);

} // namespace keel::arm64
