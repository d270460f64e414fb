#include "drivers/pci/bar_place.hpp"

namespace keel::pci {
namespace {

// First naturally aligned slot of `size` in [w.base, end) clear of every busy range and
// every BAR already placed.
bool fit(const Bar (&bars)[6], const Bar& b, const Window& w, const PlaceConstraints& c, u64* out) {
    u64 end = w.base + w.size;
    if (end < w.base) return false;
    if (c.addr_limit != 0 && end > c.addr_limit) end = c.addr_limit;
    if ((!w.is64 || !b.is64) && end > 0x100000000ull) end = 0x100000000ull; // 32-bit decoders
    u64 at = align_up(w.base, b.size);
    while (at >= w.base && at < end && b.size <= end - at) {
        u64 bump = 0;
        for (u32 i = 0; i < c.busy_count && !bump; ++i)
            if (ranges_overlap(at, b.size, c.busy[i].base, c.busy[i].size))
                bump = c.busy[i].base + c.busy[i].size;
        for (const Bar& o : bars)
            if (!bump && &o != &b && o.present && o.addr != 0 &&
                ranges_overlap(at, b.size, o.addr, o.size))
                bump = o.addr + o.size;
        if (!bump) {
            *out = at;
            return true;
        }
        at = align_up(bump, b.size);
    }
    return false;
}

} // namespace

bool ranges_overlap(u64 a, u64 alen, u64 b, u64 blen) {
    if (alen == 0 || blen == 0) return false;
    return a < b + blen && b < a + alen; // callers keep ranges below 2^64
}

Status place_bars(Bar (&bars)[6], const PlaceConstraints& c) {
    for (Bar& b : bars)
        b.addr = 0;
    for (;;) {
        Bar* next = nullptr;
        for (Bar& b : bars)
            if (b.present && !b.io && b.addr == 0 && (next == nullptr || b.size > next->size))
                next = &b;
        if (next == nullptr) return Status::Ok;
        bool placed = false;
        for (u32 w = 0; w < c.window_count && !placed; ++w) {
            u64 at = 0;
            if (fit(bars, *next, c.windows[w], c, &at) && at != 0) {
                next->addr = at;
                placed = true;
            }
        }
        if (!placed) return Status::NoMemory;
    }
}

Window largest_gap(const MemRange* map, u32 count, u64 lo, u64 hi) {
    // Candidate gaps start at lo or at the end of a range; each runs to the nearest range
    // start above it (or hi). O(n^2) over a boot memory map of at most a few dozen ranges.
    Window best;
    for (u32 i = 0; i <= count; ++i) {
        u64 start = i == count ? lo : map[i].base + map[i].size;
        if (i != count && map[i].size > ~0ull - map[i].base) continue; // wraps: ignore
        if (start < lo || start >= hi) continue;
        bool inside = false;
        u64 end = hi;
        for (u32 k = 0; k < count; ++k) {
            const u64 b = map[k].base, e = map[k].base + map[k].size;
            if (b <= start && start < e) inside = true;
            if (b > start && b < end) end = b;
        }
        if (!inside && end - start > best.size) best = Window{start, end - start, false};
    }
    return best;
}

} // namespace keel::pci
