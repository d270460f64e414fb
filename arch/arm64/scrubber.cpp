// The arm64 partition-pool scrubber, the zeroing of VM RAM on first use, and the guest
// loader: all reach pool memory only through EL2 windows (mmu.hpp), one 2 MiB block at a
// time: the scrubber's while the caller holds the pool lock (so one window serves every
// core), each core's own for first-use zeroing (no lock: nobody else maps it), and the
// loader's on the boot core.
//
// After writing, the block is cleaned and invalidated to the point of coherency: a
// guest with its MMU off reads memory non-cacheably and must see the zeroes (and its
// image), not older contents behind dirty hypervisor cache lines (D7.5.9).
#include "scrubber.hpp"
#include "cache_range.hpp"
#include "el2_format.hpp"
#include "mmu.hpp"
#include "percpu.hpp"
#include "sysreg.hpp"
#include <arch/vm.hpp>

#include <string.h>

namespace keel::arm64 {
namespace {

// Last 1 GiB of the 48-bit EL2 VA space: above every address the identity map can hold
// (output is at most 48 bits, and no machine puts RAM or devices in the top GiB of that).
// The scrubber's window (serialised by the pool lock, any core), the loader's two (boot
// core only), and one per core for zeroing VM RAM on first use.
constexpr u64 kWindowVa = (1ull << El2Format::kInputBits) - GiB;
constexpr u64 kLoaderVa = kWindowVa + 2 * MiB;
constexpr u64 kSourceVa = kWindowVa + 4 * MiB;   // guest sources, read only by the loader
constexpr u64 kFirstUseVa = kWindowVa + 8 * MiB; // + core index x 2 MiB
static_assert(kFirstUseVa + PerCpu::kMaxCpus * 2 * MiB <= kWindowVa + GiB);
constexpr u64 kBlock = 2 * MiB;
constexpr u64 kLine = 64;

// Cleans and invalidates [va, va+size) to the point of coherency, by cache line; the
// range is rounded out to lines and never past it (cache_range.hpp, host-tested). Eight
// lines per round: the loop overhead is an eighth of a DC per line.
void clean_inval_poc(u64 va, u64 size) {
    const LineRange r = line_range(va, size, kLine);
    u64 a = r.first;
    for (; a + 8 * kLine <= r.end; a += 8 * kLine)
        asm volatile("dc civac, %0\n dc civac, %1\n dc civac, %2\n dc civac, %3\n"
                     "dc civac, %4\n dc civac, %5\n dc civac, %6\n dc civac, %7" ::"r"(a),
                     "r"(a + kLine), "r"(a + 2 * kLine), "r"(a + 3 * kLine), "r"(a + 4 * kLine),
                     "r"(a + 5 * kLine), "r"(a + 6 * kLine), "r"(a + 7 * kLine)
                     : "memory");
    for (; a < r.end; a += kLine)
        asm volatile("dc civac, %0" ::"r"(a) : "memory");
    dsb_ish();
}

// DC ZVA zeroes a whole block of DCZID_EL0.BS words per instruction (C6.2.80), four
// per round; falls back to stores if it is prohibited (DZP). `size` is a whole 2 MiB
// block, a multiple of any block size DCZID can report.
void zero_mapped(u64 va, u64 size) {
    u64 dczid = KEEL_READ_SYSREG(dczid_el0);
    if (!(dczid & (1u << 4))) {
        const u64 step = 4ull << (dczid & 0xf);
        for (u64 a = va; a < va + size; a += 4 * step)
            asm volatile("dc zva, %0\n dc zva, %1\n dc zva, %2\n dc zva, %3" ::"r"(a),
                         "r"(a + step), "r"(a + 2 * step), "r"(a + 3 * step)
                         : "memory");
    } else {
        memset(reinterpret_cast<void*>(va), 0, size);
    }
}

// Zeroes one mapped 2 MiB block and cleans it to the point of coherency. Where the DC
// ZVA block is one cache line (QEMU's -cpu max, most cores), one pass does both, line by
// line: DC ZVA, DC CIVAC on the same line (a maintenance op by VA is ordered after an
// earlier store to the same line, no barrier between; D7.5.9), eight lines a round: about
// 3.3 instructions a line against 5.3 for the two passes (issue 15: 344k -> ~215k for a
// 4 MiB VM). Other geometries take the two passes.
void zero_and_clean(u64 va, u64 size) {
    const u64 dczid = KEEL_READ_SYSREG(dczid_el0);
    if ((dczid & (1u << 4)) || (4ull << (dczid & 0xf)) != kLine) {
        zero_mapped(va, size);
        clean_inval_poc(va, size);
        return;
    }
    static_assert(kLine == 64, "the loop below steps by 64");
    for (u64 a = va; a < va + size;)
        asm volatile(".rept 8\n dc zva, %0\n dc civac, %0\n add %0, %0, #64\n .endr"
                     : "+r"(a)::"memory");
    dsb_ish();
}

class WindowScrubber final : public mm::Scrubber {
public:
    void zero(PhysAddr base, u64 size) override {
        for (u64 off = 0; off < size; off += kBlock) {
            if (el2_window_map(kWindowVa, base.raw() + off) != Status::Ok) {
                // No way to zero it: never hand it out in this state.
                asm volatile("brk #0x5c");
            }
            zero_and_clean(kWindowVa, kBlock);
            el2_window_unmap(kWindowVa);
        }
    }
};

constinit WindowScrubber g_scrubber;

} // namespace

Status zero_block_first_use(PhysAddr block) {
    if (!block.aligned(kBlock)) return Status::InvalidArgument;
    const u64 va = kFirstUseVa + this_cpu().index * kBlock;
    KEEL_TRY(el2_window_map(va, block.raw()));
    zero_and_clean(va, kBlock);
    el2_window_unmap(va);
    return Status::Ok;
}

Status copy_to_pool_block(PhysAddr block, u64 offset, const void* src, u64 len) {
    if (!block.aligned(kBlock) || offset + len > kBlock || offset + len < offset)
        return Status::OutOfRange;
    KEEL_TRY(el2_window_map(kLoaderVa, block.raw()));
    memcpy(reinterpret_cast<void*>(kLoaderVa + offset), src, len);
    clean_inval_poc(kLoaderVa + offset, len);
    el2_window_unmap(kLoaderVa);
    return Status::Ok;
}

Status copy_to_pool(PhysAddr dst, const void* src, u64 len) {
    const u8* s = static_cast<const u8*>(src);
    while (len) {
        const u64 off = dst.raw() % kBlock;
        const u64 n = len < kBlock - off ? len : kBlock - off;
        KEEL_TRY(copy_to_pool_block(PhysAddr(dst.raw() - off), off, s, n));
        dst = PhysAddr(dst.raw() + n);
        s += n;
        len -= n;
    }
    return Status::Ok;
}

Status read_phys(PhysAddr src, void* out, u64 len) {
    const u64 off = src.raw() % kBlock;
    if (off + len > kBlock) return Status::OutOfRange;
    KEEL_TRY(el2_window_map(kSourceVa, src.raw() - off));
    memcpy(out, reinterpret_cast<const void*>(kSourceVa + off), len);
    el2_window_unmap(kSourceVa);
    return Status::Ok;
}

Status copy_phys_to_pool(PhysAddr dst, PhysAddr src, u64 len) {
    // Chunks that stay inside one source block and one destination block. The source
    // was written by the loader (QEMU: no caches to bypass) before Keel started.
    while (len) {
        const u64 soff = src.raw() % kBlock, doff = dst.raw() % kBlock;
        u64 n = kBlock - (soff > doff ? soff : doff);
        if (n > len) n = len;
        KEEL_TRY(el2_window_map(kSourceVa, src.raw() - soff));
        const Status st = copy_to_pool_block(PhysAddr(dst.raw() - doff), doff,
                                             reinterpret_cast<const void*>(kSourceVa + soff), n);
        el2_window_unmap(kSourceVa);
        KEEL_TRY(st);
        src = PhysAddr(src.raw() + n);
        dst = PhysAddr(dst.raw() + n);
        len -= n;
    }
    return Status::Ok;
}

} // namespace keel::arm64

namespace keel::arch {
mm::Scrubber& pool_scrubber() { return arm64::g_scrubber; }
} // namespace keel::arch
