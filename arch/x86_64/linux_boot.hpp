// Linux's x86 boot protocol, 64-bit entry (Documentation/arch/x86/boot.rst; the zero page
// layout: zero-page.rst): what a bzImage's setup header says, where its parts go in a VM's
// RAM, and the boot_params ("zero page") the kernel reads. Pure logic over bytes: the VM
// start path copies and enters, host tests check every field against the documents.
//
// The VM's image arrives as the whole bzImage file at RAM offset 0 and the initrd where
// the controller put it. The protected-mode kernel (the file after its setup sectors) is
// moved to its load address: pref_address when RAM holds init_size bytes from there,
// else the lowest kernel_alignment boundary from 16 MiB that does. Below 1 MiB go the
// zero page, the command line and the ACPI tables (Linux also keeps its real-mode SMP
// trampoline there, so the VM's RAM must start at 0).
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::x86 {

// The setup header's fields up to init_size (protocol 2.12+) lie within the first
// kHeadBytes of the file; the setup header is copied into the zero page at 0x1f1.
constexpr usize kBzHeadBytes = 0x280;
constexpr u16 kMinBootProtocol = 0x020c; // 2.12: xloadflags (64-bit entry), 64-bit addresses

struct BzImage {
    u16 version;         // boot protocol, 0x020f = 2.15
    u32 setup_bytes;     // (setup_sects, 0 meaning 4) + 1 sectors of 512 bytes
    u64 kernel_bytes;    // the protected-mode kernel: the file after the setup
    u32 init_size;       // bytes the kernel needs from its load address while it starts
    u32 alignment;       // kernel_alignment (a power of two)
    u64 pref_address;    // where it would rather run
    u32 cmdline_max;     // cmdline_size: longest command line, without the NUL
    u32 initrd_addr_max; // highest address the initrd may occupy (below 4 GiB)
    u16 xloadflags;      // bit 0 XLF_KERNEL_64: a 64-bit entry at load address + 0x200
    u16 setup_hdr_bytes; // 0x202 + the jump at 0x201: the header's length from 0x1f1
};

// Why a bzImage or its placement is refused (each a different message; see text()).
enum class BzRefusal : u32 {
    None,
    NotBzImage,     // no 0xAA55 boot flag or "HdrS" header magic, or a truncated file
    OldProtocol,    // boot protocol before 2.12
    No64BitEntry,   // XLF_KERNEL_64 clear
    NotRelocatable, // relocatable_kernel 0: it would have to run at pref_address only
    BadHeader,      // setup larger than the file, alignment not a power of two, ...
    KernelTooLarge, // init_size (or the file) does not fit the VM's RAM
    InitrdOverlaps, // the initrd lies inside the kernel's init_size span or the file
    InitrdTooHigh,  // above initrd_addr_max without XLF_CAN_BE_LOADED_ABOVE_4G
    CmdlineTooLong, // longer than cmdline_size
    RamNotAtZero,   // the VM's RAM does not start at guest physical 0
};
const char* bz_refusal_text(BzRefusal r);

// Whether the first bytes carry the boot flag and the "HdrS" header magic.
bool is_bzimage(const u8* head, usize head_len);
// The file's length from its header: (setup_sects + 1) * 512 + syssize * 16; 0 if the
// head is not a bzImage's.
u64 bzimage_file_bytes(const u8* head, usize head_len);

// Reads the setup header from the file's first `head_len` bytes (at least kBzHeadBytes of
// a file of `file_bytes`).
BzRefusal parse_bzimage(const u8* head, usize head_len, u64 file_bytes, BzImage& out);

// Guest-physical addresses of everything the start path writes.
struct LinuxLayout {
    u64 zero_page; // 4 KiB boot_params
    u64 cmdline;   // NUL-terminated
    u64 acpi;      // per-VM ACPI tables (kAcpiBytes), RSDP first
    u64 kernel;    // load address: the protected-mode kernel goes here
    u64 entry;     // kernel + 0x200 (64-bit entry)
    u64 initrd;    // as loaded by the controller
    u64 initrd_bytes;
};
constexpr u64 kZeroPage = 0x7000;
constexpr u64 kCmdline = 0x20000;
constexpr u64 kAcpiTables = 0xe0000;
constexpr u64 kAcpiBytes = 0x10000;

// Plans the VM's layout: RAM [ram_base, ram_base + ram_bytes) with the file at offset 0
// and the initrd at initrd_offset; cmdline_len excludes the NUL.
BzRefusal plan_linux(const BzImage& bz, u64 file_bytes, u64 ram_base, u64 ram_bytes,
                     u64 initrd_offset, u64 initrd_bytes, usize cmdline_len, LinuxLayout& out);

// Writes the 4 KiB zero page: the file's setup header at 0x1f1 with the loader's fields
// (type_of_loader 0xff, CAN_USE_HEAP off, cmd_line_ptr, ramdisk_image/size and their high
// halves), the E820 map (usable RAM from ram_base, the ACPI tables' 64 KiB as ACPI
// reclaimable, the rest of the first MiB reserved), and acpi_rsdp_addr.
void write_zero_page(u8 (&zp)[4096], const u8* head, const BzImage& bz, const LinuxLayout& l,
                     u64 ram_base, u64 ram_bytes);

} // namespace keel::x86
