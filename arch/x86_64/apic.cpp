// Local APIC access for INIT-SIPI-SIPI (SDM Vol. 3A 11.4 APIC base, 11.6.1 ICR,
// 11.12.9 x2APIC ICR).
#include "apic.hpp"

#include "asm_offsets.h"
#include "paging.hpp"
#include "tsc.hpp"
#include "x86.hpp"

namespace keel::x86 {
namespace {

constexpr u32 kMsrApicBase = 0x1b;
constexpr u64 kApicBaseEnable = 1ull << 11, kApicBaseExtd = 1ull << 10; // 11.4.4, 11.12.1
constexpr u64 kApicBaseAddrMask = 0xffffff000ull;
constexpr u32 kCpuid1EcxX2apic = 1u << 21;
// xAPIC register offsets (table 11-1) and x2APIC MSRs (table 11-6: 0x800 + offset/16).
constexpr u32 kRegId = 0x20, kRegSvr = 0xf0, kRegIcrLow = 0x300, kRegIcrHigh = 0x310;
constexpr u32 kMsrX2apicBase = 0x800;
constexpr u32 kSvrEnable = 1u << 8, kSpuriousVector = KEEL_X86_SPURIOUS_VECTOR; // vectors.S
// ICR low (figure 11-12): delivery mode 10:8, level 14, delivery status 12.
constexpr u32 kIcrInit = 5u << 8, kIcrStartup = 6u << 8, kIcrAssert = 1u << 14;
constexpr u32 kIcrPending = 1u << 12;

ApicMode g_mode = ApicMode::XApic;
u64 g_xapic_base = 0;
u64 g_timer_per_tsc_q32 = 0; // APIC timer ticks per TSC tick, 32.32 fixed point
constexpr u32 kRegLvtTimer = 0x320, kRegInitialCount = 0x380, kRegCurrentCount = 0x390,
              kRegDivide = 0x3e0;

u32 reg_read(u32 off) {
    return g_mode == ApicMode::X2Apic ? static_cast<u32>(rdmsr(kMsrX2apicBase + (off >> 4)))
                                      : *reinterpret_cast<volatile u32*>(g_xapic_base + off);
}
void reg_write(u32 off, u32 v) {
    if (g_mode == ApicMode::X2Apic)
        wrmsr(kMsrX2apicBase + (off >> 4), v);
    else
        *reinterpret_cast<volatile u32*>(g_xapic_base + off) = v;
}

volatile u32* xreg(u32 off) { return reinterpret_cast<volatile u32*>(g_xapic_base + off); }
u32 x2_msr(u32 off) { return kMsrX2apicBase + (off >> 4); }

void write_icr(u32 dest, u32 low) {
    if (g_mode == ApicMode::X2Apic) {
        wrmsr(x2_msr(kRegIcrLow), (static_cast<u64>(dest) << 32) | low); // one 64-bit write
        return;
    }
    *xreg(kRegIcrHigh) = dest << 24;
    *xreg(kRegIcrLow) = low;
    while (*xreg(kRegIcrLow) & kIcrPending)
        asm volatile("pause");
}

} // namespace

extern "C" {
u64 x86_apic_eoi_mmio = 0; // vectors.S: the xAPIC EOI register, 0 in x2APIC mode
}

void apic_init_ap() {
    if (g_mode == ApicMode::X2Apic) {
        const u64 base = rdmsr(kMsrApicBase);
        wrmsr(kMsrApicBase, base | kApicBaseEnable);
        wrmsr(kMsrApicBase, base | kApicBaseEnable | kApicBaseExtd);
    }
    reg_write(kRegSvr, kSvrEnable | kSpuriousVector);
}

void apic_timer_adopt(u64 per_tsc_q32) {
    x86_apic_eoi_mmio = g_mode == ApicMode::XApic ? g_xapic_base + 0xb0 : 0;
    g_timer_per_tsc_q32 = per_tsc_q32;
}

u64 apic_timer_rate() { return g_timer_per_tsc_q32; }

void apic_timer_calibrate() {
    apic_timer_adopt(0);
    const u64 hz = tsc_hz();
    if (hz == 0) return;
    reg_write(kRegDivide, 0xb);                                 // divide by 1
    reg_write(kRegLvtTimer, (1u << 16) | KEEL_X86_KICK_VECTOR); // masked while measuring
    reg_write(kRegInitialCount, 0xffffffff);
    const u64 t0 = __builtin_ia32_rdtsc(), span = hz / 1000; // 1 ms
    while (__builtin_ia32_rdtsc() - t0 < span)
        asm volatile("pause");
    const u64 ticks = 0xffffffffull - reg_read(kRegCurrentCount);
    const u64 took = __builtin_ia32_rdtsc() - t0;
    reg_write(kRegInitialCount, 0);
    apic_timer_adopt(took == 0 ? 0 : (ticks << 32) / took);
}

void apic_kick_at(u64 deadline) {
    if (g_timer_per_tsc_q32 == 0) return;
    if (deadline == 0) {
        reg_write(kRegInitialCount, 0);
        return;
    }
    const u64 now = __builtin_ia32_rdtsc();
    const u64 d = static_cast<i64>(deadline - now) > 0 ? deadline - now : 1;
    u64 count = d >= (1ull << 32) ? 0xffffffffull : (d * g_timer_per_tsc_q32) >> 32;
    if (count == 0) count = 1;
    if (count > 0xffffffffull) count = 0xffffffffull;
    reg_write(kRegDivide, 0xb);
    reg_write(kRegLvtTimer, KEEL_X86_KICK_VECTOR); // one-shot, unmasked
    reg_write(kRegInitialCount, static_cast<u32>(count));
}

void apic_mask_lint0() {
    constexpr u32 kRegLvtLint0 = 0x350, kLvtMasked = 1u << 16;
    reg_write(kRegLvtLint0, reg_read(kRegLvtLint0) | kLvtMasked);
}

void apic_take_kick() { asm volatile("sti; nop; cli" ::: "memory"); }

Result<ApicMode> apic_init_boot() {
    u64 base = rdmsr(kMsrApicBase);
    if (cpuid(1).ecx & kCpuid1EcxX2apic) {
        // xAPIC -> x2APIC: set EXTD with EN already set (11.12.5 state transitions).
        wrmsr(kMsrApicBase, base | kApicBaseEnable);
        wrmsr(kMsrApicBase, base | kApicBaseEnable | kApicBaseExtd);
        g_mode = ApicMode::X2Apic;
        wrmsr(x2_msr(kRegSvr), kSvrEnable | kSpuriousVector);
        return g_mode;
    }
    if (!(base & kApicBaseEnable)) wrmsr(kMsrApicBase, base | kApicBaseEnable);
    g_xapic_base = base & kApicBaseAddrMask;
    KEEL_TRY(map_phys(g_xapic_base, 4096, MapKind::Device));
    g_mode = ApicMode::XApic;
    *xreg(kRegSvr) = kSvrEnable | kSpuriousVector;
    return g_mode;
}

u32 apic_id() {
    if (g_mode == ApicMode::X2Apic) return static_cast<u32>(rdmsr(x2_msr(kRegId)));
    return *xreg(kRegId) >> 24;
}

void apic_send_kick(u32 dest) { write_icr(dest, KEEL_X86_KICK_VECTOR); } // fixed, edge

void apic_send_init(u32 dest) { write_icr(dest, kIcrInit | kIcrAssert); }
void apic_send_startup(u32 dest, u8 vector) { write_icr(dest, kIcrStartup | kIcrAssert | vector); }

void legacy_pic_mask_all() {
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
}

void io_delay_us(u32 us) {
    for (u32 i = 0; i < us; ++i)
        outb(0x80, 0);
}

} // namespace keel::x86
