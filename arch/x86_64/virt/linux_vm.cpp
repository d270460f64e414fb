// Linux VMs on x86 (linux_vm.hpp). The low-memory map Keel writes (all inside the e820
// "usable" first 640 KiB but the ACPI tables, which write_zero_page marks):
//   0x0800  GDT: 0x10 flat 64-bit code (__BOOT_CS), 0x18 flat data (__BOOT_DS)
//   0x1000  PML4, 0x2000 PDPT, 0x3000-0x6fff four page directories: 4 GiB identity, 2 MiB
//           pages (boot.rst: the kernel, zero page and command line must be identity mapped)
//   0x7000  zero page (kZeroPage), 0x20000 command line, 0xe0000 ACPI tables
#include "linux_vm.hpp"

#include <string.h>

#include "../guest_acpi.hpp"
#include "../linux_boot.hpp"
#include "../tsc.hpp"
#include "guest_mem.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/vm/vm.hpp"
#include "vm_context.hpp"
#include <arch/vm.hpp>

namespace keel::virt {
namespace {

static_assert(x86::kBzHeadBytes <= GuestImage::kHeadBytes, "the manager keeps the setup header");

constexpr u64 kGdt = 0x800, kPml4 = 0x1000, kPdpt = 0x2000, kPd = 0x3000, kBootStack = 0x1f000;
constexpr u16 kBootCs = 0x10, kBootDs = 0x18;
constexpr u64 kFlatCode64 = 0x00af9b000000ffffull; // G, L, P, DPL 0, execute/read, accessed
constexpr u64 kFlatData = 0x00cf93000000ffffull;   // G, D/B, P, DPL 0, read/write, accessed

Status status_of(x86::BzRefusal r) {
    switch (r) {
    case x86::BzRefusal::OldProtocol:
    case x86::BzRefusal::No64BitEntry:
    case x86::BzRefusal::NotRelocatable: return Status::Unsupported;
    case x86::BzRefusal::KernelTooLarge:
    case x86::BzRefusal::InitrdOverlaps:
    case x86::BzRefusal::InitrdTooHigh:
    case x86::BzRefusal::CmdlineTooLong: return Status::OutOfRange;
    default: return Status::InvalidArgument;
    }
}

// Guest RAM to guest RAM, from the end down (the destination lies above the source).
Status move_down_to_up(const Vm& vm, u64 from, u64 to, u64 n) {
    static u8 bounce[4096]; // boot core only (under the manager's lock)
    while (n != 0) {
        const u64 chunk = n < sizeof bounce ? n : sizeof bounce;
        n -= chunk;
        KEEL_TRY(guest_read(vm, from + n, bounce, chunk));
        KEEL_TRY(guest_write(vm, to + n, bounce, chunk));
    }
    return Status::Ok;
}

Status write_tables(const Vm& vm) {
    constexpr u64 kP = 1, kRw = 2, kPs = 128;
    static u64 page[512]; // boot core only
    memset(page, 0, sizeof page);
    page[kBootCs / 8] = kFlatCode64;
    page[kBootDs / 8] = kFlatData;
    KEEL_TRY(guest_write(vm, kGdt, page, 32));
    memset(page, 0, sizeof page);
    page[0] = kPdpt | kP | kRw;
    KEEL_TRY(guest_write(vm, kPml4, page, sizeof page));
    for (u64 i = 0; i < 4; ++i)
        page[i] = (kPd + i * 4096) | kP | kRw;
    KEEL_TRY(guest_write(vm, kPdpt, page, sizeof page));
    for (u64 g = 0; g < 4; ++g) {
        for (u64 i = 0; i < 512; ++i)
            page[i] = ((g << 30) + i * 2 * MiB) | kP | kRw | kPs;
        KEEL_TRY(guest_write(vm, kPd + g * 4096, page, sizeof page));
    }
    return Status::Ok;
}

Status write_acpi(const Vm& vm, u64 gpa) {
    static u8 buf[4096]; // boot core only
    u32 ids[kMaxVcpus];
    for (u32 i = 0; i < kMaxVcpus; ++i)
        ids[i] = i;
    x86::GuestAcpiConfig c = linux_acpi_config(vm.arch.vcpus, ids);
    if (vm.pci != nullptr) { // its PCIe hierarchy for assigned VFs (mmio.cpp emulates it)
        c.ecam_base = kGuestEcamBase;
        c.ecam_last_bus = kGuestEcamLastBus;
        c.pci_window = static_cast<u32>(arch::kGuestPciWindow.raw());
        c.pci_window_size = static_cast<u32>(arch::kGuestPciWindowSize);
    }
    const usize n = x86::build_guest_acpi(buf, sizeof buf, gpa, c);
    if (n == 0) return Status::InvalidArgument;
    return guest_write(vm, gpa, buf, n);
}

// Whether a word of the line starts with `key`.
bool names(const char* line, usize len, const char* key) {
    const usize key_len = strlen(key);
    for (usize i = 0; i + key_len <= len; ++i)
        if (memcmp(line + i, key, key_len) == 0 && (i == 0 || line[i - 1] == ' ')) return true;
    return false;
}

void append(char* out, usize cap, usize* n, const char* word) {
    if (*n != 0 && *n < cap - 1) out[(*n)++] = ' ';
    for (; *word != '\0' && *n < cap - 1; ++word)
        out[(*n)++] = *word;
}

// The command line, plus what a Linux VM needs unless the line names it (docs/x86-linux.md):
//   console=ttyS0      COM1 is the VM's only console (the serial lines Keel prints)
//   tsc_early_khz=     Linux takes the TSC's rate from CPUID 0x15 on Intel CPUs only, and on
//                      AMD calibrates against the PIT or the PM timer, whose sampling windows
//                      (tens of microseconds) a trapped port read under an emulator does not
//                      meet.
// The length, without the NUL.
usize with_defaults(char* out, usize cap, const char* in, usize len) {
    memcpy(out, in, len);
    usize n = len;
    if (!names(in, len, "console=")) append(out, cap, &n, "console=ttyS0");
    const u64 khz = x86::tsc_hz() / 1000;
    constexpr char kTsc[] = "tsc_early_khz=";
    if (!names(in, len, kTsc) && khz != 0) {
        char word[40];
        memcpy(word, kTsc, sizeof kTsc - 1);
        char digits[24];
        usize d = 0, w = sizeof kTsc - 1;
        for (u64 k = khz; k != 0; k /= 10)
            digits[d++] = static_cast<char>('0' + k % 10);
        while (d != 0)
            word[w++] = digits[--d];
        word[w] = '\0';
        append(out, cap, &n, word);
    }
    out[n] = '\0';
    return n;
}

} // namespace

Status prepare_linux(Vm& vm) {
    const GuestImage& img = vm.image;
    const usize cmdline_len = strnlen(img.cmdline, sizeof img.cmdline - 1);
    x86::BzImage bz{};
    x86::LinuxLayout l{};
    x86::BzRefusal r =
        x86::parse_bzimage(vm.kernel_head, sizeof vm.kernel_head, img.kernel_bytes, bz);
    if (r == x86::BzRefusal::None)
        r = x86::plan_linux(bz, img.kernel_bytes, 0, vm.mem_size, img.initrd_offset,
                            img.initrd_bytes, cmdline_len, l);
    if (r != x86::BzRefusal::None) {
        kprint("vm %u: bzImage refused: %s\n", vm.id, x86::bz_refusal_text(r));
        return status_of(r);
    }
    KEEL_TRY(move_ram_to_zero(vm)); // its devices follow (VmDevices::vm_moved)
    KEEL_TRY(move_down_to_up(vm, bz.setup_bytes, l.kernel, bz.kernel_bytes));
    static u8 zp[4096]; // boot core only
    x86::write_zero_page(zp, vm.kernel_head, bz, l, 0, vm.mem_size);
    KEEL_TRY(guest_write(vm, l.zero_page, zp, sizeof zp));
    char line[GuestImage::kCmdlineMax + 64] = {};
    const usize n = with_defaults(line, sizeof line, img.cmdline, cmdline_len);
    if (n > bz.cmdline_max) {
        kprint("vm %u: bzImage refused: %s\n", vm.id,
               x86::bz_refusal_text(x86::BzRefusal::CmdlineTooLong));
        return Status::OutOfRange;
    }
    KEEL_TRY(guest_write(vm, l.cmdline, line, n + 1));
    KEEL_TRY(write_acpi(vm, l.acpi));
    KEEL_TRY(write_tables(vm));
    BootState& b = vm.arch.boot;
    b = BootState{};
    b.rip = l.entry, b.rsp = kBootStack, b.cr3 = kPml4, b.rsi = l.zero_page;
    b.gdt_base = kGdt, b.gdt_limit = 4 * 8 - 1, b.cs = kBootCs, b.ds = kBootDs;
    kprint("vm %u: Linux boot protocol %u.%u: kernel at %#llx (entry %#llx), initrd %#llx+%#llx, "
           "zero page %#llx\n",
           vm.id, bz.version >> 8, bz.version & 0xff, static_cast<unsigned long long>(l.kernel),
           static_cast<unsigned long long>(l.entry), static_cast<unsigned long long>(l.initrd),
           static_cast<unsigned long long>(l.initrd_bytes),
           static_cast<unsigned long long>(l.zero_page));
    return Status::Ok;
}

} // namespace keel::virt

namespace keel::arch {

// A bzImage (boot flag and "HdrS" in its setup header) boots as Linux; whether it can is
// prepare_linux's to say, with the reason. Anything else is a raw guest.
Result<GuestKind> detect_kernel(const u8* head, usize len) {
    return x86::is_bzimage(head, len) ? GuestKind::Linux : GuestKind::Raw;
}

// The whole bzImage file: the setup sectors and the protected-mode kernel (syssize).
Result<u64> kernel_extent(const u8* head, usize len) {
    const u64 n = x86::bzimage_file_bytes(head, len);
    if (n == 0) return Status::InvalidArgument;
    return n;
}

} // namespace keel::arch
