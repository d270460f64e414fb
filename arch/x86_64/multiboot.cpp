#include "multiboot.hpp"

#include <string.h>

#include "boot_modules.hpp"
#include "hypervisor/acpi/tables.hpp"
#include "hypervisor/print.hpp"

extern "C" char __image_start[], __image_end[];

namespace keel::x86 {
namespace {

// Multiboot1 info (Multiboot 0.6.96 3.3): flags, then fields valid per flag bit.
constexpr u32 kMb1FlagCmdline = 1u << 2;
constexpr u32 kMb1FlagMmap = 1u << 6;
constexpr usize kMb1Cmdline = 16;
constexpr usize kMb1MmapLength = 44;
constexpr usize kMb1MmapAddr = 48;
// Memory map entry types shared by both protocols (and the BIOS E820 types).
constexpr u32 kMmapAvailable = 1;
constexpr u32 kMmapAcpiReclaimable = 3;

// Multiboot2 info (Multiboot2 1.0 3.6): total_size u32, reserved u32, then tags
// (type u32, size u32), each starting on an 8-byte boundary.
constexpr u32 kMb2TagEnd = 0;
constexpr u32 kMb2TagCmdline = 1;
constexpr u32 kMb2TagModule = 3;
constexpr u32 kMb2TagMmap = 6;
constexpr u32 kMb2TagAcpiOld = 14;
constexpr u32 kMb2TagAcpiNew = 15;
constexpr u32 kMb2MaxInfo = 1 * 1024 * 1024; // sanity bound on total_size
constexpr usize kMaxModules = 16;

// BIOS areas that may hold the RSDP (ACPI 6.5 5.2.5.1).
constexpr u64 kBdaEbdaSegment = 0x40e;
constexpr usize kEbdaScan = 1024;
constexpr u64 kBiosRomStart = 0xe0000;
constexpr usize kBiosRomSize = 0x20000;

u32 rd32(u64 pa) {
    u32 v;
    __builtin_memcpy(&v, reinterpret_cast<const void*>(pa), sizeof v);
    return v;
}
u64 rd64(u64 pa) { return rd32(pa) | (static_cast<u64>(rd32(pa + 4)) << 32); }

MemType mem_type(u32 t) {
    switch (t) {
    case kMmapAvailable: return MemType::Usable;
    case kMmapAcpiReclaimable: return MemType::AcpiReclaim;
    default: return MemType::Reserved;
    }
}

void add_mem(BootInfo& bi, u64 base, u64 len, u32 type) {
    if (len == 0 || base + len < base) return;
    if (bi.mem_count >= BootInfo::kMaxMem) {
        // Only usable RAM is ever handed out, so dropping ranges is safe; say so.
        kprint("boot: memory map has more than %u ranges, ignoring %#llx+%#llx\n",
               BootInfo::kMaxMem, static_cast<unsigned long long>(base),
               static_cast<unsigned long long>(len));
        return;
    }
    bi.mem[bi.mem_count++] = MemRange{base, len, mem_type(type), 0};
}

// Copies at most `max` bytes of a string, stopping at NUL; always terminates. A line that
// does not fit loses its last, cut word whole (a VM definition cut short could otherwise
// still parse, as another VM: "mem:256M" cut to "mem:25"), and the console says so.
void copy_cmdline(BootInfo& bi, const char* s, usize max) {
    usize n = 0;
    while (n < max && n + 1 < BootInfo::kCmdlineMax && s[n] != '\0') {
        bi.cmdline[n] = s[n];
        ++n;
    }
    const bool cut = n + 1 == BootInfo::kCmdlineMax && n < max && s[n] != '\0';
    if (cut) {
        while (n != 0 && bi.cmdline[n - 1] != ' ')
            --n;
        kprint("boot: command line over %u bytes: its last word, from byte %u, ignored\n",
               BootInfo::kCmdlineMax - 1, static_cast<unsigned>(n));
    }
    bi.cmdline[n] = '\0';
}

u64 bios_find_rsdp() {
    const u64 ebda = static_cast<u64>(*reinterpret_cast<const volatile u16*>(kBdaEbdaSegment)) << 4;
    if (ebda >= 0x80000 && ebda < 0xa0000) {
        auto r = acpi::find_rsdp(reinterpret_cast<const u8*>(ebda), kEbdaScan);
        if (r.ok()) return ebda + r.value();
    }
    auto r = acpi::find_rsdp(reinterpret_cast<const u8*>(kBiosRomStart), kBiosRomSize);
    return r.ok() ? kBiosRomStart + r.value() : 0;
}

Status fill_mb1(u64 info, BootInfo& bi) {
    const u32 flags = rd32(info);
    if (flags & kMb1FlagCmdline) {
        u32 cmdline = rd32(info + kMb1Cmdline);
        if (cmdline != 0)
            copy_cmdline(bi, reinterpret_cast<const char*>(static_cast<u64>(cmdline)),
                         BootInfo::kCmdlineMax);
    }
    if (!(flags & kMb1FlagMmap)) return Status::NotFound;
    const u64 start = rd32(info + kMb1MmapAddr);
    const u64 end = start + rd32(info + kMb1MmapLength);
    // Each entry: size u32 (not counting itself), base u64, length u64, type u32.
    for (u64 e = start; e + 24 <= end;) {
        const u32 size = rd32(e);
        if (size < 20) return Status::Corrupt;
        add_mem(bi, rd64(e + 4), rd64(e + 12), rd32(e + 20));
        e += size + 4;
    }
    bi.rsdp = bios_find_rsdp();
    return Status::Ok;
}

// Carries out plan_module_moves for the modules GRUB loaded (docs/boot-info.md, "Boot
// modules"), on the early identity map, before anything reads the destinations.
void move_modules(const BootModule* mods, usize count, const BootInfo& bi, u64 info, u32 total) {
    ModulePlan plan[kMaxModules];
    const u64 image = reinterpret_cast<u64>(__image_start);
    const PhysSpan image_span{image, reinterpret_cast<u64>(__image_end) - image};
    plan_module_moves(mods, count, bi.mem, bi.mem_count, image_span, PhysSpan{info, total}, plan);
    for (usize i = 0; i < count; ++i) {
        const BootModule& m = mods[i];
        const auto start = static_cast<unsigned long long>(m.start);
        const auto end = static_cast<unsigned long long>(m.end);
        const auto dst = static_cast<unsigned long long>(plan[i].dst);
        switch (plan[i].action) {
        case ModuleAction::Stay: break;
        case ModuleAction::Move:
            // Never overlaps another source or destination; maybe its own source.
            memmove(reinterpret_cast<void*>(plan[i].dst), reinterpret_cast<const void*>(m.start),
                    m.end - m.start);
            kprint("boot: module %u \"%s\" %#llx-%#llx moved to %#llx\n", static_cast<unsigned>(i),
                   m.cmdline, start, end, dst);
            break;
        case ModuleAction::Refuse:
            kprint("boot: module %u \"%s\" at %#llx-%#llx: keel.load refused: %s; not moved\n",
                   static_cast<unsigned>(i), m.cmdline, start, end, plan[i].why);
            break;
        }
    }
}

Status fill_mb2(u64 info, BootInfo& bi, u8* rsdp_copy, usize rsdp_copy_size) {
    const u32 total = rd32(info);
    if (total < 16 || total > kMb2MaxInfo) return Status::Corrupt;
    const u64 end = info + total;
    bool have_mmap = false, have_new_rsdp = false;
    BootModule mods[kMaxModules];
    usize mod_count = 0;
    bool too_many_mods = false;
    for (u64 tag = info + 8; tag + 8 <= end;) {
        const u32 type = rd32(tag);
        const u32 size = rd32(tag + 4);
        if (size < 8 || size > end - tag) return Status::Corrupt;
        if (type == kMb2TagEnd) break;
        const u64 body = tag + 8;
        const u32 body_size = size - 8;
        switch (type) {
        case kMb2TagCmdline:
            copy_cmdline(bi, reinterpret_cast<const char*>(body), body_size);
            break;
        case kMb2TagMmap: {
            // entry_size u32, entry_version u32, then entries (base, length, type, reserved).
            if (body_size < 8) return Status::Corrupt;
            const u32 entry_size = rd32(body);
            if (entry_size < 24 || entry_size % 8 != 0) return Status::Corrupt;
            for (u64 e = body + 8; e + entry_size <= tag + size; e += entry_size)
                add_mem(bi, rd64(e), rd64(e + 8), rd32(e + 16));
            have_mmap = true;
            break;
        }
        case kMb2TagModule: {
            // mod_start u32, mod_end u32, then a NUL-terminated string inside the tag.
            const char* str = reinterpret_cast<const char*>(body + 8);
            if (body_size < 9 || memchr(str, '\0', body_size - 8) == nullptr)
                return Status::Corrupt;
            if (mod_count == kMaxModules) {
                too_many_mods = true;
                break;
            }
            mods[mod_count++] = BootModule{rd32(body), rd32(body + 4), str};
            break;
        }
        case kMb2TagAcpiOld:
        case kMb2TagAcpiNew: {
            // The tag holds a copy of the RSDP (20 bytes for 1.0, `length` for 2.0+).
            if (have_new_rsdp) break;
            usize n = body_size < rsdp_copy_size ? body_size : rsdp_copy_size;
            __builtin_memcpy(rsdp_copy, reinterpret_cast<const void*>(body), n);
            bi.rsdp = reinterpret_cast<u64>(rsdp_copy);
            have_new_rsdp = type == kMb2TagAcpiNew;
            break;
        }
        default: break;
        }
        tag += align_up(size, 8);
    }
    if (!have_mmap) return Status::NotFound;
    if (too_many_mods)
        kprint("boot: more than %u modules: none is moved (keel.load ignored)\n",
               static_cast<unsigned>(kMaxModules));
    else
        move_modules(mods, mod_count, bi, info, total);
    return Status::Ok;
}

} // namespace

Status multiboot_fill(u32 magic, u32 info_pa, BootInfo& bi, u8* rsdp_copy, usize rsdp_copy_size) {
    if (info_pa == 0) return Status::InvalidArgument;
    bi.mem_count = 0;
    bi.cmdline[0] = '\0';
    bi.rsdp = 0;
    switch (magic) {
    case kMultiboot1Magic: bi.source = BootSource::Multiboot1; return fill_mb1(info_pa, bi);
    case kMultiboot2Magic:
        bi.source = BootSource::Multiboot2;
        return fill_mb2(info_pa, bi, rsdp_copy, rsdp_copy_size);
    default: return Status::Unsupported;
    }
}

} // namespace keel::x86
