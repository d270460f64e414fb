// EL2 stage-1 tables on the page-table engine (El2Format). Table pages come from a
// fixed pool in .bss, handed out in order and never given back: el2_map first runs with
// the MMU off, where no lock may be taken (spinlock.hpp), so mm::TablePool cannot serve;
// and the tables stay for good (the window keeps its level-2 table when unmapped).
#include "mmu.hpp"

#include <arch/sections.hpp>
#include <string.h>

#include "el2_format.hpp"
#include "hypervisor/spinlock.hpp"
#include "sysreg.hpp"

extern "C" char __image_start[], __text_end[], __rodata_end[], __image_end[];

namespace keel::arm64 {
namespace {

constexpr unsigned kPoolPages = 48;
KEEL_NOINIT alignas(mm::kPageSize) u64 g_pool[kPoolPages][mm::kEntriesPerTable];

class El2Tables final : public mm::TableMemory {
public:
    u64* alloc_table(PhysAddr* phys) override {
        if (used_ == kPoolPages) return nullptr;
        *phys = PhysAddr(reinterpret_cast<u64>(g_pool[used_]));
        memset(g_pool[used_], 0, sizeof g_pool[used_]); // .noinit: never zeroed at boot
        return g_pool[used_++];
    }
    // Only a failed el2_map frees (the boot panics then): the page is not reused.
    void free_table(PhysAddr) override {}
    u64* table_ptr(PhysAddr phys) override { return reinterpret_cast<u64*>(phys.raw()); }
    [[nodiscard]] usize tables_in_use() const override { return used_; }

private:
    unsigned used_ = 0;
};

constinit El2Tables g_tables;
constinit mm::PageTable<El2Format> g_el2{g_tables};

// The tables change from more than one core once VMs run: the boot core maps devices
// (mailbox attach) and uses its loader windows while VM cores map their own windows
// (RAM zeroed on first use, scrubber.cpp). One lock for every change, taken only once
// the MMU is on (exclusives need cacheable memory; before that the boot core is alone).
// Nothing is taken inside it: it is the innermost lock.
SpinLock g_el2_lock;

class El2Guard {
public:
    El2Guard() : locked_((KEEL_READ_SYSREG(sctlr_el2) & 1) != 0) {
        if (locked_) g_el2_lock.lock();
    }
    ~El2Guard() {
        if (locked_) g_el2_lock.unlock();
    }
    El2Guard(const El2Guard&) = delete;
    El2Guard& operator=(const El2Guard&) = delete;

private:
    bool locked_;
};

} // namespace

Status el2_map(u64 addr, u64 size, MapKind kind) {
    El2Guard g;
    if (!g_el2.ready()) KEEL_TRY(g_el2.init()); // the first call (boot) makes the root
    // Blocks where alignment allows: nothing in the EL2 tables is ever unmapped except
    // the window, which lives at its own VA with its own table.
    KEEL_TRY(mm::map_host(g_el2, addr, size, kind, mm::Leaves::Largest));
    // The tables are written before the MMU is on or, later, for new entries only
    // (invalid -> valid needs no break-before-make); make them visible to the walker.
    dsb_ish();
    return Status::Ok;
}

Status el2_map_image() {
    const u64 base = reinterpret_cast<u64>(__image_start); // adrp: where it runs
    const u64 text_end = reinterpret_cast<u64>(__text_end);
    const u64 rodata_end = reinterpret_cast<u64>(__rodata_end);
    KEEL_TRY(el2_map(base, text_end - base, MapKind::Text));
    KEEL_TRY(el2_map(text_end, rodata_end - text_end, MapKind::ReadOnly));
    return el2_map(rodata_end, reinterpret_cast<u64>(__image_end) - rodata_end, MapKind::ReadWrite);
}

Status el2_window_map(u64 va, u64 pa) {
    constexpr u64 kBlock = 2 * MiB;
    if ((va | pa) & (kBlock - 1)) return Status::InvalidArgument;
    El2Guard g;
    // One level-2 block: normal WB, EL2 read-write, never executable.
    Status s = g_el2.map(VirtAddr(va), PhysAddr(pa), kBlock, mm::host_attrs(MapKind::ReadWrite));
    if (s != Status::Ok) return s == Status::AlreadyExists ? Status::Busy : s;
    dsb_ish();
    isb();
    return Status::Ok;
}

void el2_window_unmap(u64 va) {
    El2Guard g;
    if (g_el2.unmap(VirtAddr(va), 2 * MiB, mm::EmptyTables::Keep) != Status::Ok) return;
    // Break: the entry is invalid everywhere before anyone may map the window again
    // (D8.16.1 break-before-make; TLBI by VA, EL2, inner shareable).
    dsb_ish();
    asm volatile("tlbi vae2is, %0" ::"r"(va >> 12) : "memory");
    dsb_ish();
    isb();
}

void el2_unmap(u64 addr, u64 size) {
    El2Guard g;
    const u64 base = align_down(addr, mm::kPageSize);
    if (g_el2.unmap(VirtAddr(base), align_up(addr + size, mm::kPageSize) - base,
                    mm::EmptyTables::Keep) != Status::Ok)
        return;
    dsb_ish();
    asm volatile("tlbi alle2is" ::: "memory");
    dsb_ish();
    isb();
}

u64 el2_pa_limit() {
    // ID_AA64MMFR0_EL1.PARange (D17.2.64); 52-bit output needs FEAT_LPA descriptors.
    static constexpr u32 kPaBits[] = {32, 36, 40, 42, 44, 48};
    const u64 parange = KEEL_READ_SYSREG(id_aa64mmfr0_el1) & 0xf;
    return 1ull << kPaBits[parange < 5 ? parange : 5];
}

void el2_enable_mmu() {
    u64 parange = KEEL_READ_SYSREG(id_aa64mmfr0_el1) & 0xf;
    if (parange > 5) parange = 5; // 48-bit output: the descriptors' address field
    // TCR_EL2 (non-VHE): T0SZ, inner/outer WB-WA walks, inner shareable, 4 KiB
    // granule, PS, and the RES1 bits 23 and 31.
    u64 tcr = (64 - El2Format::kInputBits) | (1ull << 8) | (1ull << 10) | (3ull << 12) |
              (0ull << 14) | (parange << 16) | (1ull << 23) | (1ull << 31);
    KEEL_WRITE_SYSREG(mair_el2, El2Format::kMair);
    KEEL_WRITE_SYSREG(tcr_el2, tcr);
    KEEL_WRITE_SYSREG(ttbr0_el2, g_el2.root().raw());
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
