#include "boot_modules.hpp"

#include "hypervisor/cmdline.hpp"

namespace keel::x86 {
namespace {

// Whether [a, a + a_size) and [b, b + b_size) share a byte (no overflow at the top).
bool overlaps(u64 a, u64 a_size, u64 b, u64 b_size) {
    if (a_size == 0 || b_size == 0) return false;
    return a >= b ? a - b < b_size : b - a < a_size;
}

u64 module_size(const BootModule& m) { return m.end > m.start ? m.end - m.start : 0; }

// True if [base, end) is covered by Usable ranges and touches no range of another type
// (a loader's map may list overlapping entries; any non-usable claim wins).
bool usable_ram(const MemRange* mem, usize mem_count, u64 base, u64 end) {
    for (usize i = 0; i < mem_count; ++i)
        if (mem[i].type != MemType::Usable && overlaps(base, end - base, mem[i].base, mem[i].size))
            return false;
    u64 pos = base;
    while (pos < end) {
        u64 next = pos;
        for (usize i = 0; i < mem_count; ++i) {
            const MemRange& r = mem[i];
            if (r.type == MemType::Usable && r.base <= pos && pos - r.base < r.size) {
                const u64 r_end = r.base + r.size < r.base ? ~0ull : r.base + r.size;
                if (r_end > next) next = r_end;
            }
        }
        if (next == pos) return false; // a hole
        pos = next;
    }
    return true;
}

// The keel.load= value, or a refusal reason; nullptr reason with *dst set on success,
// and `present` false when the word is absent.
const char* load_address(const char* cmdline, bool* present, u64* dst) {
    char value[24];
    Cmdline c(cmdline);
    *present = c.has("keel.load");
    if (!*present) return nullptr;
    if (!c.value("keel.load", value, sizeof value)) return "keel.load is not a hex address";
    usize n = 0;
    while (value[n] != '\0')
        ++n;
    if (!parse_hex(value, n, dst)) return "keel.load is not a hex address";
    return nullptr;
}

const char* refusal(const BootModule* mods, usize count, usize i, const ModulePlan* done,
                    const MemRange* mem, usize mem_count, PhysSpan image, PhysSpan info) {
    const BootModule& m = mods[i];
    const u64 dst = done[i].dst;
    if (m.end <= m.start) return "the module is empty or its end is before its start";
    const u64 size = m.end - m.start;
    if (dst % kModuleAlign != 0) return "not 2 MiB aligned";
    if (dst < kModuleLowest) return "below 1 MiB";
    if (dst > kModuleMapEnd || size > kModuleMapEnd - dst) return "beyond 4 GiB";
    if (!usable_ram(mem, mem_count, dst, dst + size)) return "not usable RAM in the memory map";
    if (overlaps(dst, size, image.base, image.size)) return "overlaps the hypervisor image";
    if (overlaps(dst, size, info.base, info.size)) return "overlaps the Multiboot2 information";
    for (usize j = 0; j < count; ++j)
        if (j != i && overlaps(dst, size, mods[j].start, module_size(mods[j])))
            return "overlaps another module";
    for (usize j = 0; j < i; ++j)
        if (done[j].action == ModuleAction::Move &&
            overlaps(dst, size, done[j].dst, module_size(mods[j])))
            return "overlaps another module's destination";
    return nullptr;
}

} // namespace

void plan_module_moves(const BootModule* mods, usize count, const MemRange* mem, usize mem_count,
                       PhysSpan image, PhysSpan info, ModulePlan* out) {
    for (usize i = 0; i < count; ++i) {
        ModulePlan& p = out[i];
        p = ModulePlan{ModuleAction::Stay, 0, nullptr};
        bool present = false;
        p.why = load_address(mods[i].cmdline, &present, &p.dst);
        if (!present) continue;
        if (p.why == nullptr) p.why = refusal(mods, count, i, out, mem, mem_count, image, info);
        p.action = p.why == nullptr ? ModuleAction::Move : ModuleAction::Refuse;
    }
}

} // namespace keel::x86
