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
// The windows' page table (one table for all: the static_assert above), made on the first
// window_map and kept. Each CPU writes only its own window's entries in it, without the
// lock or the engine: a map or unmap is a few stores (issue 12: the engine's walks for
// each transient access were most of an SVM exit's cost, which reads guest memory to
// decode the instruction).
u64* g_window_ptes =
    nullptr; // atomic publication; identity mapped (the table pool is in the image)

// Under g_lock.
Status make_window_table() {
    KEEL_TRY(g_paging.make_tables(VirtAddr(kWindowBase), 2 * MiB, 3));
    u64 table = g_paging.root().raw();
    for (int level = 0; level < 3; ++level) {
        const u64 e = reinterpret_cast<const u64*>(table)[(kWindowBase >> (39 - 9 * level)) & 511];
        if (!PagingFormat::is_present(e) || PagingFormat::is_leaf(e, level))
            return Status::BadState;
        table = PagingFormat::table_output(e).raw();
    }
    __atomic_store_n(&g_window_ptes, reinterpret_cast<u64*>(table), __ATOMIC_RELEASE);
    return Status::Ok;
}

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
    if (__atomic_load_n(&g_window_ptes, __ATOMIC_ACQUIRE) == nullptr) {
        LockGuard g(g_lock);
        KEEL_TRY(ready());
        if (g_window_ptes == nullptr) KEEL_TRY(make_window_table());
    }
    // New entries only, never cached while not present (4.10.2.3): no INVLPG.
    volatile u64* pte = g_window_ptes + slot * kWindowPages;
    for (u64 i = 0; i < pages; ++i)
        pte[i] = PagingFormat::make_leaf(PhysAddr(start + i * kPage), mm::host_attrs(kind), 3);
    asm volatile("" ::: "memory"); // the entries before any access through the window
    w.pages = pages;
    return reinterpret_cast<u8*>(kWindowBase + slot * kWindowPages * kPage + (pa - start));
}

void window_unmap() {
    const u32 slot = my_slot();
    Window& w = g_windows[slot];
    if (w.pages == 0) return;
    const u64 va = kWindowBase + slot * kWindowPages * kPage;
    volatile u64* pte = g_window_ptes + slot * kWindowPages;
    for (u64 i = 0; i < w.pages; ++i) {
        pte[i] = 0;
        invlpg(va + i * kPage); // this CPU's TLB entry for it (no other CPU ever used it)
    }
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
    KEEL_TRY(paging_build());
    paging_switch();
    return Status::Ok;
}

Status paging_build() {
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
    return (rdmsr(kMsrEfer) & kEferNxe) != 0 ? Status::Ok : Status::Unsupported;
}

void paging_switch() {
    write_cr0(read_cr0() | kCr0Wp); // supervisor writes honour read-only pages
    write_cr3(g_paging.root().raw());
    __atomic_store_n(&g_live, true, __ATOMIC_RELEASE);
}

} // namespace keel::x86
