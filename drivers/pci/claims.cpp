#include "drivers/pci/claims.hpp"

namespace keel::pci {

bool Claims::add(u64 base, u64 size) {
    if (count_ == kMax) return false;
    ranges_[count_] = MemRange{};
    ranges_[count_].base = base;
    ranges_[count_].size = size;
    ++count_;
    return true;
}

namespace {
constinit Claims g_claims; // trivially destructible: no exit-time registration
} // namespace

Claims& bar_claims() { return g_claims; }

u32 busy_ranges(const Platform& p, MemRange* out, u32 max) {
    u32 n = 0;
    auto add = [&](u64 base, u64 size) {
        if (n == max || size == 0) return;
        out[n] = MemRange{};
        out[n].base = base, out[n].size = size;
        ++n;
    };
    for (u32 i = 0; i < p.mem_count; ++i)
        add(p.mem[i].base, p.mem[i].size);
    add(p.ecam_base, p.ecam_size);
    if (p.uart_base) add(align_down(p.uart_base, 4096), 4096);
    if (p.irq_dist_base) add(p.irq_dist_base, 64 * KiB);
    if (p.irq_redist_base) add(p.irq_redist_base, p.irq_redist_size);
    for (u32 i = 0; i < p.redist_more_count; ++i)
        add(p.redist_more[i].base, p.redist_more[i].size);
    if (p.its_base) add(p.its_base, 128 * KiB); // GITS frames: control + translation
    for (u32 i = 0; i < g_claims.count(); ++i)
        add(g_claims.ranges()[i].base, g_claims.ranges()[i].size);
    return n;
}

} // namespace keel::pci
