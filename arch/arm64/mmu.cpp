#include "mmu.hpp"

#include "sysreg.hpp"

namespace keel::arm64 {
namespace {

// VMSAv8-64 stage-1 descriptor bits (ARM ARM D8.3).
constexpr u64 kValid = 1ull << 0;
constexpr u64 kTable = 1ull << 1;      // table (levels 0-2) or page (level 3)
constexpr u64 kAttrDevice = 0ull << 2; // MAIR index 0
constexpr u64 kAttrNormal = 1ull << 2; // MAIR index 1
constexpr u64 kApReadOnly = 1ull << 7; // AP[2]: EL2 read-only
constexpr u64 kShInner = 3ull << 8;
constexpr u64 kAccessFlag = 1ull << 10;
constexpr u64 kXn = 1ull << 54;
constexpr u64 kAddrMask = 0x0000fffffffff000ull;

constexpr u64 kPage = 4096;
constexpr unsigned kEntries = 512;
constexpr unsigned kPoolPages = 48;
constexpr unsigned kVaBits = 39; // T0SZ = 25: walk starts at level 1

alignas(kPage) u64 g_pool[kPoolPages][kEntries];
unsigned g_used = 1; // g_pool[0] is the level-1 root

u64* alloc_table() {
    if (g_used >= kPoolPages) return nullptr;
    return g_pool[g_used++]; // .bss: already zero
}

u64 leaf_bits(MapKind kind) {
    switch (kind) {
    case MapKind::Text: return kAttrNormal | kShInner | kApReadOnly;
    case MapKind::ReadOnly: return kAttrNormal | kShInner | kApReadOnly | kXn;
    case MapKind::ReadWrite: return kAttrNormal | kShInner | kXn;
    case MapKind::Device: return kAttrDevice | kXn;
    }
    return kXn;
}

unsigned index_at(u64 va, int level) { return (va >> (12 + 9 * (3 - level))) & (kEntries - 1); }

Status map_page(u64 addr, u64 bits) {
    u64* table = g_pool[0];
    for (int level = 1; level < 3; ++level) {
        u64& entry = table[index_at(addr, level)];
        if (!(entry & kValid)) {
            u64* next = alloc_table();
            if (!next) return Status::NoMemory;
            entry = reinterpret_cast<u64>(next) | kValid | kTable;
        }
        table = reinterpret_cast<u64*>(entry & kAddrMask);
    }
    u64 desc = (addr & kAddrMask) | bits | kValid | kTable | kAccessFlag;
    u64& leaf = table[index_at(addr, 3)];
    if ((leaf & kValid) && leaf != desc) return Status::AlreadyExists;
    leaf = desc;
    return Status::Ok;
}

} // namespace

Status el2_map(u64 addr, u64 size, MapKind kind) {
    if (size == 0) return Status::InvalidArgument;
    u64 start = align_down(addr, kPage);
    u64 end = align_up(addr + size, kPage);
    if (end <= start || end > (1ull << kVaBits)) return Status::OutOfRange;
    for (u64 a = start; a < end; a += kPage)
        KEEL_TRY(map_page(a, leaf_bits(kind)));
    // The tables are written before the MMU is on or, later, for new entries only
    // (invalid -> valid needs no break-before-make); make them visible to the walker.
    dsb_ish();
    return Status::Ok;
}

namespace {
u64* window_entry(u64 va) {
    u64& l1 = g_pool[0][index_at(va, 1)];
    if (!(l1 & kValid)) {
        u64* next = alloc_table();
        if (!next) return nullptr;
        dsb_ish();
        l1 = reinterpret_cast<u64>(next) | kValid | kTable;
    }
    return &reinterpret_cast<u64*>(l1 & kAddrMask)[index_at(va, 2)];
}
} // namespace

Status el2_window_map(u64 va, u64 pa) {
    constexpr u64 kBlock = 2ull << 20;
    if ((va | pa) & (kBlock - 1)) return Status::InvalidArgument;
    u64* e = window_entry(va);
    if (!e) return Status::NoMemory;
    if (*e & kValid) return Status::Busy;
    // Level-2 block descriptor (bit 1 clear): normal WB, EL2 read-write, never executable.
    *e = (pa & kAddrMask) | kAttrNormal | kShInner | kXn | kAccessFlag | kValid;
    dsb_ish();
    isb();
    return Status::Ok;
}

void el2_window_unmap(u64 va) {
    u64* e = window_entry(va);
    if (!e) return;
    *e = 0;
    // Break: the entry is invalid everywhere before anyone may map the window again
    // (D8.16.1 break-before-make; TLBI by VA, EL2, inner shareable).
    dsb_ish();
    asm volatile("tlbi vae2is, %0" ::"r"(va >> 12) : "memory");
    dsb_ish();
    isb();
}

void el2_enable_mmu() {
    // MAIR: index 0 Device-nGnRE, index 1 Normal write-back read/write-allocate.
    constexpr u64 mair = 0x04ull | (0xffull << 8);
    u64 parange = KEEL_READ_SYSREG(id_aa64mmfr0_el1) & 0xf;
    if (parange > 2) parange = 2; // 40-bit output is enough for QEMU virt's high ECAM
    // TCR_EL2 (non-VHE): T0SZ, inner/outer WB-WA walks, inner shareable, 4 KiB
    // granule, PS, and the RES1 bits 23 and 31.
    u64 tcr = (64 - kVaBits) | (1ull << 8) | (1ull << 10) | (3ull << 12) | (0ull << 14) |
              (parange << 16) | (1ull << 23) | (1ull << 31);
    KEEL_WRITE_SYSREG(mair_el2, mair);
    KEEL_WRITE_SYSREG(tcr_el2, tcr);
    KEEL_WRITE_SYSREG(ttbr0_el2, reinterpret_cast<u64>(g_pool[0]));
    dsb_ish();
    asm volatile("tlbi alle2" ::: "memory");
    dsb_ish();
    isb();
    // SCTLR_EL2: RES1 bits, then M (MMU), C (data cache), SA (SP alignment),
    // I (instruction cache), WXN (writable implies execute-never).
    constexpr u64 kRes1 = (1ull << 4) | (1ull << 5) | (1ull << 11) | (1ull << 16) | (1ull << 18) |
                          (1ull << 22) | (1ull << 23) | (1ull << 28) | (1ull << 29);
    constexpr u64 sctlr =
        kRes1 | (1ull << 0) | (1ull << 2) | (1ull << 3) | (1ull << 12) | (1ull << 19);
    KEEL_WRITE_SYSREG(sctlr_el2, sctlr);
    isb();
}

} // namespace keel::arm64
