// 4-level paging with 4 KiB pages (SDM Vol. 3A 4.5). The permissions live in the
// leaf entries; intermediate entries are present+writable so the leaf decides.
#include "paging.hpp"

#include "hypervisor/spinlock.hpp"
#include "x86.hpp"

extern "C" char __image_start[], __text_end[], __rodata_end[], __image_end[];
extern "C" char boot_stack_guard[];

namespace keel::x86 {
namespace {

// Paging-structure entry bits (SDM Vol. 3A 4.5, tables 4-14 to 4-20).
constexpr u64 kPresent = 1ull << 0;
constexpr u64 kWritable = 1ull << 1;
constexpr u64 kPwt = 1ull << 3;
constexpr u64 kPcd = 1ull << 4;
constexpr u64 kAccessed = 1ull << 5; // set by the CPU on use (4.8)
constexpr u64 kDirty = 1ull << 6;    // set by the CPU on a write to a page
constexpr u64 kNx = 1ull << 63;      // needs EFER.NXE
constexpr u64 kAddrMask = 0x000ffffffffff000ull;

constexpr u64 kPage = 4096;
constexpr unsigned kEntries = 512;
constexpr unsigned kPoolPages = 48;
constexpr u64 kVaLimit = 1ull << 47; // lower canonical half; identity map, so also the PA limit

alignas(kPage) u64 g_pool[kPoolPages][kEntries];
bool g_pool_used[kPoolPages] = {true}; // g_pool[0] is the PML4
bool g_live = false;                   // CR3 points at g_pool[0]
SpinLock g_lock;                       // map/unmap from any CPU (one address space for all)

u64* alloc_table() {
    for (unsigned i = 1; i < kPoolPages; ++i) {
        if (g_pool_used[i]) continue;
        g_pool_used[i] = true;
        return g_pool[i]; // zero: .bss, or emptied before it was freed
    }
    return nullptr;
}

bool all_zero(const u64* t) {
    for (unsigned i = 0; i < kEntries; ++i)
        if (t[i] != 0) return false;
    return true;
}

u64 leaf_bits(MapKind kind) {
    switch (kind) {
    case MapKind::Text: return kPresent;
    case MapKind::ReadOnly: return kPresent | kNx;
    case MapKind::ReadWrite: return kPresent | kWritable | kNx;
    case MapKind::Device: return kPresent | kWritable | kNx | kPcd | kPwt;
    }
    return kNx;
}

unsigned index_at(u64 va, int level) { return (va >> (12 + 9 * level)) & (kEntries - 1); }

// Returns the level-0 (page table) entry for va, allocating tables when `create`.
u64* walk(u64 va, bool create) {
    u64* table = g_pool[0];
    for (int level = 3; level > 0; --level) {
        u64& entry = table[index_at(va, level)];
        if (!(entry & kPresent)) {
            if (!create) return nullptr;
            u64* next = alloc_table();
            if (!next) return nullptr;
            entry = reinterpret_cast<u64>(next) | kPresent | kWritable;
        }
        table = reinterpret_cast<u64*>(entry & kAddrMask);
    }
    return &table[index_at(va, 0)];
}

Status map_page(u64 pa, u64 bits) {
    u64* leaf = walk(pa, true);
    if (!leaf) return Status::NoMemory;
    u64 pte = (pa & kAddrMask) | bits;
    if (*leaf & kPresent)
        return (*leaf & ~(kAccessed | kDirty)) == pte ? Status::Ok : Status::AlreadyExists;
    *leaf = pte;
    // Not-present entries are never cached (SDM Vol. 3A 4.10.2.3), but be explicit.
    if (g_live) invlpg(pa);
    return Status::Ok;
}

Status map_range(u64 start, u64 end, MapKind kind) {
    for (u64 a = start; a < end; a += kPage)
        KEEL_TRY(map_page(a, leaf_bits(kind)));
    return Status::Ok;
}

// Clears the leaf for `va` and frees the tables on its path that became empty. INVLPG
// drops the page's TLB entry and every paging-structure-cache entry of this CPU
// (SDM Vol. 3A 4.10.4.1), so a freed table is never walked again from a cache.
void unmap_page(u64 va) {
    u64* path[4];
    u64* table = g_pool[0];
    for (int level = 3; level >= 0; --level) {
        path[level] = &table[index_at(va, level)];
        if (!(*path[level] & kPresent)) return;
        if (level > 0) table = reinterpret_cast<u64*>(*path[level] & kAddrMask);
    }
    *path[0] = 0;
    for (int level = 1; level <= 2; ++level) {
        u64* child = reinterpret_cast<u64*>(*path[level] & kAddrMask);
        if (!all_zero(child)) break;
        *path[level] = 0;
        g_pool_used[(reinterpret_cast<u64>(child) - reinterpret_cast<u64>(g_pool)) / kPage] = false;
    }
    if (g_live) invlpg(va);
}

u64 addr(const char* sym) { return reinterpret_cast<u64>(sym); }

} // namespace

Status map_phys(u64 pa, u64 size, MapKind kind) {
    if (size == 0 || pa + size < pa) return Status::InvalidArgument;
    u64 start = align_down(pa, kPage);
    u64 end = align_up(pa + size, kPage);
    if (end > kVaLimit || end <= start) return Status::OutOfRange;
    LockGuard g(g_lock);
    return map_range(start, end, kind);
}

Status unmap_phys(u64 pa, u64 size) {
    if (size == 0 || pa + size < pa) return Status::InvalidArgument;
    const u64 start = align_down(pa, kPage), end = align_up(pa + size, kPage);
    if (end > kVaLimit) return Status::OutOfRange;
    const u64 image_start = addr(__image_start), image_end = align_up(addr(__image_end), kPage);
    if (start < image_end && end > image_start) return Status::InvalidArgument; // never the image
    LockGuard g(g_lock);
    for (u64 a = start; a < end; a += kPage)
        unmap_page(a);
    return Status::Ok;
}

bool is_mapped(u64 va) {
    if (va >= kVaLimit) return false;
    LockGuard g(g_lock);
    const u64* leaf = walk(va, false);
    return leaf && (*leaf & kPresent);
}

Status paging_init() {
    const u64 guard = addr(boot_stack_guard);
    KEEL_TRY(map_range(addr(__image_start), addr(__text_end), MapKind::Text));
    KEEL_TRY(map_range(addr(__text_end), addr(__rodata_end), MapKind::ReadOnly));
    KEEL_TRY(map_range(addr(__rodata_end), guard, MapKind::ReadWrite));
    KEEL_TRY(map_range(guard + kPage, align_up(addr(__image_end), kPage), MapKind::ReadWrite));

    // start.S set EFER.NXE when CPUID said NX exists; W^X needs it.
    if (!(rdmsr(kMsrEfer) & kEferNxe)) return Status::Unsupported;
    write_cr0(read_cr0() | kCr0Wp); // supervisor writes honour read-only pages
    write_cr3(reinterpret_cast<u64>(g_pool[0]));
    g_live = true;
    return Status::Ok;
}

} // namespace keel::x86
