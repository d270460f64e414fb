// Boot modules that ask to be moved: a Multiboot2 loader (GRUB `module2 /file
// keel.load=0x30000000`) leaves each module wherever it chose; a module whose command line
// carries `keel.load=<hex pa>` is moved to that host-physical address before the pool is
// built, so a keel.vm= definition can name it (`kernel:`, `initrd:`) as it names QEMU's
// loader-device files. docs/boot-info.md, "Boot modules". Pure logic: the plan is made here
// (host-tested), multiboot.cpp carries it out on the early identity map.
#pragma once

#include "hypervisor/boot_info.hpp"
#include "hypervisor/types.hpp"

namespace keel::x86 {

// One Multiboot2 module tag (Multiboot2 1.0 3.6.6: mod_start, mod_end, a NUL-terminated
// string): the module occupies [start, end).
struct BootModule {
    u64 start;
    u64 end;
    const char* cmdline; // NUL-terminated
};

// A physical range [base, base + size).
struct PhysSpan {
    u64 base;
    u64 size;
};

enum class ModuleAction : u8 {
    Stay,   // no keel.load=: left where the loader put it
    Move,   // moved to `dst`
    Refuse, // keel.load= given but refused (`why`): left where it is, never moved
};

struct ModulePlan {
    ModuleAction action;
    u64 dst;         // the requested address (Move and, where it parsed, Refuse)
    const char* why; // Refuse: the reason, for the boot message
};

inline constexpr u64 kModuleAlign = 2 * MiB;     // keel.vm= kernel:/initrd: are 2 MiB aligned
inline constexpr u64 kModuleMapEnd = 4ull << 30; // start.S's early identity map: 0-4 GiB
inline constexpr u64 kModuleLowest = 1 * MiB;    // BIOS data and the AP trampoline lie below

// Decides, for each of `count` modules, whether it stays, moves or is refused. A
// destination is accepted only if it parses, is 2 MiB aligned, lies in [1 MiB, 4 GiB),
// is wholly usable RAM in `mem` (and inside no other range), and overlaps neither the
// hypervisor image, the Multiboot2 information, any module's source (its own excepted)
// nor a destination accepted before it. So no move can overwrite what another move or
// the boot still reads, and the moves may run in any order; a destination overlapping its
// own source needs memmove.
void plan_module_moves(const BootModule* mods, usize count, const MemRange* mem, usize mem_count,
                       PhysSpan image, PhysSpan info, ModulePlan* out);

} // namespace keel::x86
