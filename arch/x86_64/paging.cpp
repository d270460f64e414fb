// 4-level paging with 4 KiB pages (SDM Vol. 3A 4.5) on the page-table engine
// (PagingFormat). The permissions live in the leaf entries; intermediate entries are
// present+writable so the leaf decides. Table pages come from a fixed pool in the image;
// unmapping gives the tables it empties back to it.
#include "paging.hpp"

#include "descriptors.hpp"
#include "hypervisor/mm/table_pool.hpp"
#include "hypervisor/spinlock.hpp"
#include "percpu.hpp"
#include "x86.hpp"
#include "x86_paging_format.hpp"

extern "C" char __image_start[], __text_end[], __rodata_end[], __image_end[];
extern "C" char boot_stack_guard[];

namespace keel::x86 {
namespace {

constexpr u64 kPage = 4096;

mm::TableStorage<48> g_pool_pages;
constinit mm::TablePool g_pool{g_pool_pages};
constinit mm::PoolTables g_tables;
constinit mm::PageTable<PagingFormat> g_paging{g_tables};
bool g_live = false; // CR3 points at g_paging's root
SpinLock g_lock;     // map/unmap from any CPU (one address space for all)
u64 g_unmap_gen = 0; // atomic: raised by every unmap of a shared identity mapping

static_assert(kMaxCpus * kWindowPages <= 512, "all windows in one page table (one 2 MiB slot)");
static_assert(kWindowBase % (2 * MiB) == 0 && kWindowBase + 2 * MiB <= (1ull << 47));

struct Window {
    u64 pages = 0; // mapped now (0: free)
    u64 seen_gen = 0;
};
Window g_windows[kMaxCpus];

// This CPU's slot; before smp_start has set GS base only the boot CPU runs (slot 0).
u32 my_slot() { return rdmsr(kMsrIa32GsBase) == 0 ? 0 : this_cpu().slot; }

// map_phys may come before paging_init: the root is made on first use.
Status ready() {
    if (g_paging.ready()) return Status::Ok;
    g_tables.attach(g_pool);
    return g_paging.init();
}

u64 addr(const char* sym) { return reinterpret_cast<u64>(sym); }

} // namespace

// New entries only, and not-present entries are never cached (4.10.2.3): no INVLPG.
Status map_phys(u64 pa, u64 size, MapKind kind) {
    // The identity map never reaches into the per-CPU windows.
    if (pa + size < pa || (pa < kWindowBase + 2 * MiB && pa + size > kWindowBase))
        return Status::InvalidArgument;
    LockGuard g(g_lock);
    KEEL_TRY(ready());
    return mm::map_host(g_paging, pa, size, kind);
}

// INVLPG drops the page's TLB entry and every paging-structure-cache entry of this CPU
// (SDM Vol. 3A 4.10.4.1), so a freed table is never walked again from a cache.
Status unmap_phys(u64 pa, u64 size) {
    if (size == 0 || pa + size < pa) return Status::InvalidArgument;
    const u64 start = align_down(pa, kPage), end = align_up(pa + size, kPage);
    const u64 image_start = addr(__image_start), image_end = align_up(addr(__image_end), kPage);
    if (start < image_end && end > image_start) return Status::InvalidArgument; // never the image
    LockGuard g(g_lock);
    KEEL_TRY(ready());
    KEEL_TRY(g_paging.unmap(VirtAddr(start), end - start));
    for (u64 a = start; g_live && a < end; a += kPage)
        invlpg(a);
    // Other CPUs catch up before their host code runs again (tlb_catch_up).
    __atomic_add_fetch(&g_unmap_gen, 1, __ATOMIC_ACQ_REL);
    return Status::Ok;
}

Result<u8*> window_map(u64 pa, u64 size, MapKind kind) {
    if (size == 0 || pa + size < pa) return Status::InvalidArgument;
    const u64 start = align_down(pa, kPage), pages = (align_up(pa + size, kPage) - start) / kPage;
    if (pages > kWindowPages) return Status::InvalidArgument;
    const u32 slot = my_slot();
    Window& w = g_windows[slot];
    if (w.pages != 0) return Status::Busy; // only this CPU touches its window: no race
    const u64 va = kWindowBase + slot * kWindowPages * kPage;
    {
        LockGuard g(g_lock);
        KEEL_TRY(ready());
        KEEL_TRY(g_paging.map(VirtAddr(va), PhysAddr(start), pages * kPage, mm::host_attrs(kind),
                              mm::Leaves::PagesOnly));
    }
    w.pages = pages;
    return reinterpret_cast<u8*>(va + (pa - start));
}

void window_unmap() {
    const u32 slot = my_slot();
    Window& w = g_windows[slot];
    if (w.pages == 0) return;
    const u64 va = kWindowBase + slot * kWindowPages * kPage;
    {
        LockGuard g(g_lock);
        // Keep: the window's tables stay for the next map, and no CPU can ever walk a freed one.
        (void)g_paging.unmap(VirtAddr(va), w.pages * kPage, mm::EmptyTables::Keep);
    }
    for (u64 i = 0; i < w.pages; ++i)
        invlpg(va + i * kPage);
    w.pages = 0;
}

void tlb_catch_up() {
    Window& w = g_windows[my_slot()];
    const u64 gen = __atomic_load_n(&g_unmap_gen, __ATOMIC_ACQUIRE);
    if (w.seen_gen == gen || !g_live) return;
    write_cr3(read_cr3()); // every non-global TLB and paging-structure-cache entry (4.10.4.1)
    w.seen_gen = gen;
}

bool is_mapped(u64 va) {
    LockGuard g(g_lock);
    return g_paging.ready() && g_paging.translate(VirtAddr(va)).ok();
}

Status paging_init() {
    KEEL_TRY(ready());
    auto map = [](u64 start, u64 end, MapKind kind) {
        return end > start ? mm::map_host(g_paging, start, end - start, kind) : Status::Ok;
    };
    const u64 guard = addr(boot_stack_guard);
    KEEL_TRY(map(addr(__image_start), addr(__text_end), MapKind::Text));
    KEEL_TRY(map(addr(__text_end), addr(__rodata_end), MapKind::ReadOnly));
    KEEL_TRY(map(addr(__rodata_end), guard, MapKind::ReadWrite));
    KEEL_TRY(map(guard + kPage, align_up(addr(__image_end), kPage), MapKind::ReadWrite));

    // start.S set EFER.NXE when CPUID said NX exists; W^X needs it.
    if (!(rdmsr(kMsrEfer) & kEferNxe)) return Status::Unsupported;
    write_cr0(read_cr0() | kCr0Wp); // supervisor writes honour read-only pages
    write_cr3(g_paging.root().raw());
    g_live = true;
    return Status::Ok;
}

} // namespace keel::x86
