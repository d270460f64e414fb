#include "linux_boot.hpp"

#include <string.h>

#include "hypervisor/bytes.hpp"

namespace keel::x86 {
namespace {

// Setup header fields (boot.rst "THE REAL-MODE KERNEL HEADER"), as offsets in the file
// and in the zero page alike.
constexpr usize kSetupSects = 0x1f1, kSysSize = 0x1f4, kBootFlag = 0x1fe, kJump = 0x200,
                kHeaderMagic = 0x202, kVersion = 0x206, kTypeOfLoader = 0x210, kLoadflags = 0x211,
                kRamdiskImage = 0x218, kRamdiskSize = 0x21c, kHeapEndPtr = 0x224,
                kCmdLinePtr = 0x228, kInitrdAddrMax = 0x22c, kKernelAlignment = 0x230,
                kRelocatable = 0x234, kXloadflags = 0x236, kCmdlineSize = 0x238,
                kPrefAddress = 0x258, kInitSize = 0x260;
constexpr u32 kHdrS = 0x53726448; // "HdrS"
constexpr u16 kXlfKernel64 = 1u << 0, kXlfAbove4G = 1u << 1;
constexpr u8 kCanUseHeap = 1u << 7;
// Zero page fields (zero-page.rst).
constexpr usize kAcpiRsdpAddr = 0x070, kExtRamdiskImage = 0x0c0, kExtRamdiskSize = 0x0c4,
                kExtCmdLinePtr = 0x0c8, kE820Entries = 0x1e8, kE820Table = 0x2d0;
constexpr u32 kE820Ram = 1, kE820Reserved = 2, kE820Acpi = 3;
constexpr u64 kLowRamEnd = 0x9fc00; // conventional memory below the EBDA
constexpr u64 kMiB = 1ull << 20;

bool overlap(u64 a, u64 alen, u64 b, u64 blen) { return a < b + blen && b < a + alen; }

} // namespace

const char* bz_refusal_text(BzRefusal r) {
    switch (r) {
    case BzRefusal::None: return "ok";
    case BzRefusal::NotBzImage: return "not a bzImage (no boot flag or HdrS header)";
    case BzRefusal::OldProtocol: return "boot protocol older than 2.12";
    case BzRefusal::No64BitEntry: return "kernel has no 64-bit entry (XLF_KERNEL_64)";
    case BzRefusal::NotRelocatable: return "kernel is not relocatable";
    case BzRefusal::BadHeader: return "inconsistent setup header";
    case BzRefusal::KernelTooLarge: return "kernel does not fit the VM's memory";
    case BzRefusal::InitrdOverlaps: return "initrd overlaps the kernel";
    case BzRefusal::InitrdTooHigh: return "initrd above the kernel's initrd_addr_max";
    case BzRefusal::CmdlineTooLong: return "command line longer than the kernel's cmdline_size";
    case BzRefusal::RamNotAtZero: return "Linux on x86 needs the VM's RAM from address 0";
    }
    return "?";
}

bool is_bzimage(const u8* h, usize head_len) {
    return head_len >= kBzHeadBytes && le16(h + kBootFlag) == 0xaa55 &&
           le32(h + kHeaderMagic) == kHdrS;
}

u64 bzimage_file_bytes(const u8* h, usize head_len) {
    if (!is_bzimage(h, head_len)) return 0;
    const u64 sects = h[kSetupSects] == 0 ? 4 : h[kSetupSects];
    return (sects + 1) * 512 + u64{le32(h + kSysSize)} * 16;
}

BzRefusal parse_bzimage(const u8* h, usize head_len, u64 file_bytes, BzImage& out) {
    if (file_bytes < kBzHeadBytes || !is_bzimage(h, head_len)) return BzRefusal::NotBzImage;
    BzImage b{};
    b.version = le16(h + kVersion);
    if (b.version < kMinBootProtocol) return BzRefusal::OldProtocol;
    b.xloadflags = le16(h + kXloadflags);
    if ((b.xloadflags & kXlfKernel64) == 0) return BzRefusal::No64BitEntry;
    if (h[kRelocatable] == 0) return BzRefusal::NotRelocatable;
    const u32 sects = h[kSetupSects] == 0 ? 4 : h[kSetupSects];
    b.setup_bytes = (sects + 1) * 512;
    // The header's length: the jump at 0x200 is "EB xx", xx the offset from 0x202.
    b.setup_hdr_bytes = static_cast<u16>(kJump + 2 + h[kJump + 1] - kSetupSects);
    b.alignment = le32(h + kKernelAlignment);
    b.init_size = le32(h + kInitSize);
    b.pref_address = le64(h + kPrefAddress);
    b.cmdline_max = le32(h + kCmdlineSize);
    if (h[kJump] != 0xeb || kSetupSects + b.setup_hdr_bytes > kBzHeadBytes ||
        kSetupSects + b.setup_hdr_bytes < kInitSize + 4 || b.setup_bytes >= file_bytes ||
        b.alignment == 0 || (b.alignment & (b.alignment - 1)) != 0 || b.init_size == 0)
        return BzRefusal::BadHeader;
    b.kernel_bytes = file_bytes - b.setup_bytes;
    b.initrd_addr_max = le32(h + kInitrdAddrMax);
    out = b;
    return BzRefusal::None;
}

BzRefusal plan_linux(const BzImage& bz, u64 file_bytes, u64 ram_base, u64 ram_bytes,
                     u64 initrd_offset, u64 initrd_bytes, usize cmdline_len, LinuxLayout& out) {
    if (ram_base != 0) return BzRefusal::RamNotAtZero;
    if (cmdline_len > bz.cmdline_max) return BzRefusal::CmdlineTooLong;
    const u64 span = bz.init_size > bz.kernel_bytes ? bz.init_size : bz.kernel_bytes;
    // pref_address if aligned and it fits, else the first aligned address from 16 MiB.
    u64 at = bz.pref_address;
    if (at % bz.alignment != 0 || at < kMiB || at > ram_bytes || span > ram_bytes - at)
        at = (16 * kMiB + bz.alignment - 1) & ~u64{bz.alignment - 1};
    if (file_bytes > ram_bytes || at > ram_bytes || span > ram_bytes - at)
        return BzRefusal::KernelTooLarge;
    if (initrd_bytes != 0) {
        if (initrd_offset > ram_bytes || initrd_bytes > ram_bytes - initrd_offset)
            return BzRefusal::InitrdOverlaps;
        if (overlap(initrd_offset, initrd_bytes, at, span) ||
            overlap(initrd_offset, initrd_bytes, 0, file_bytes) ||
            overlap(initrd_offset, initrd_bytes, 0, kMiB))
            return BzRefusal::InitrdOverlaps;
        if ((bz.xloadflags & kXlfAbove4G) == 0 &&
            initrd_offset + initrd_bytes - 1 > bz.initrd_addr_max)
            return BzRefusal::InitrdTooHigh;
    }
    out =
        LinuxLayout{kZeroPage, kCmdline, kAcpiTables, at, at + 0x200, initrd_offset, initrd_bytes};
    return BzRefusal::None;
}

void write_zero_page(u8 (&zp)[4096], const u8* head, const BzImage& bz, const LinuxLayout& l,
                     u64 ram_base, u64 ram_bytes) {
    memset(zp, 0, sizeof zp);
    memcpy(zp + kSetupSects, head + kSetupSects, bz.setup_hdr_bytes);
    zp[kTypeOfLoader] = 0xff; // no registered loader id
    zp[kLoadflags] = static_cast<u8>(zp[kLoadflags] & ~kCanUseHeap);
    zp[kHeapEndPtr] = zp[kHeapEndPtr + 1] = 0;
    put_le(zp + kCmdLinePtr, static_cast<u32>(l.cmdline), 4);
    put_le(zp + kExtCmdLinePtr, static_cast<u32>(l.cmdline >> 32), 4);
    put_le(zp + kRamdiskImage, static_cast<u32>(l.initrd), 4);
    put_le(zp + kExtRamdiskImage, static_cast<u32>(l.initrd >> 32), 4);
    put_le(zp + kRamdiskSize, static_cast<u32>(l.initrd_bytes), 4);
    put_le(zp + kExtRamdiskSize, static_cast<u32>(l.initrd_bytes >> 32), 4);
    put_le(zp + kAcpiRsdpAddr, l.acpi, 8);
    struct Entry {
        u64 base, size;
        u32 type;
    } const map[] = {
        {ram_base, kLowRamEnd, kE820Ram},
        {kLowRamEnd, kAcpiTables - kLowRamEnd, kE820Reserved},
        {kAcpiTables, kAcpiBytes, kE820Acpi},
        {kAcpiTables + kAcpiBytes, kMiB - kAcpiTables - kAcpiBytes, kE820Reserved},
        {kMiB, ram_bytes - kMiB, kE820Ram},
    };
    u8 n = 0;
    for (const Entry& e : map) {
        u8* p = zp + kE820Table + 20 * n++;
        put_le(p, e.base, 8);
        put_le(p + 8, e.size, 8);
        put_le(p + 16, e.type, 4);
    }
    zp[kE820Entries] = n;
}

} // namespace keel::x86
