#include "lapic.hpp"

namespace keel::virt {
namespace {

// Index of an LVT register in Lapic::lvt, or -1.
int lvt_index(u32 reg) {
    if (reg == kApicLvtCmci) return 0;
    if (reg >= kApicLvtTimer && reg <= kApicLvtError)
        return static_cast<int>(reg - kApicLvtTimer) + 1;
    return -1;
}

// Writable bits per LVT (11.5.1, figure 11-8): vector 7:0, delivery mode 10:8 (not the
// timer's or error's), polarity 13 and trigger 15 (LINT0/1), mask 16, timer mode 18:17.
u32 lvt_writable(u32 reg) {
    switch (reg) {
    case kApicLvtTimer: return 0xff | kLvtMask | (3u << 17);
    case kApicLvtError: return 0xff | kLvtMask;
    case kApicLvtTimer + 3: // LINT0
    case kApicLvtTimer + 4: // LINT1
        return 0xff | (7u << 8) | (1u << 13) | (1u << 15) | kLvtMask;
    default: return 0xff | (7u << 8) | kLvtMask; // CMCI, thermal, performance
    }
}

u32& timer_lvt(Lapic& a) { return a.lvt[1]; }
u32 timer_lvt(const Lapic& a) { return a.lvt[1]; }
u32 timer_mode(const Lapic& a) { return (timer_lvt(a) >> 17) & 3; }
bool enabled(const Lapic& a) { return a.svr & (1u << 8); }

// Divide configuration (11.5.4, figure 11-10): bits 3, 1:0; 111b = 1, else 2^(n+1).
u64 divisor(u32 cfg) {
    const u32 n = ((cfg >> 1) & 4) | (cfg & 3);
    return n == 7 ? 1 : 2ull << n;
}

int highest(const u32 (&bits)[8]) {
    for (int w = 7; w >= 0; --w) {
        const u32 v = __atomic_load_n(&bits[w], __ATOMIC_ACQUIRE);
        if (v) return w * 32 + 31 - __builtin_clz(v);
    }
    return -1;
}

void set_bit(u32 (&bits)[8], u8 v) {
    __atomic_fetch_or(&bits[v / 32], 1u << (v % 32), __ATOMIC_ACQ_REL);
}
void clear_bit(u32 (&bits)[8], u8 v) {
    __atomic_fetch_and(&bits[v / 32], ~(1u << (v % 32)), __ATOMIC_ACQ_REL);
}

u64 period(const Lapic& a) { return u64{a.initial} * divisor(a.divide_config); }

void arm_count(Lapic& a, u64 now) {
    a.timer_start = now;
    a.timer_next = a.initial == 0 ? 0 : now + period(a);
}

} // namespace

void lapic_reset(Lapic& a, u32 id) {
    a = Lapic{};
    a.id = id;
    a.dfr = 0xffffffff;
    a.svr = 0xff;
    for (u32& l : a.lvt)
        l = kLvtMask;
}

bool lapic_software_enabled(const Lapic& a) { return enabled(a); }

u32 lapic_ppr(const Lapic& a) {
    const int isrv = highest(a.isr);
    const u32 isr_class = isrv < 0 ? 0 : static_cast<u32>(isrv) & 0xf0;
    return (a.tpr & 0xf0) >= isr_class ? a.tpr & 0xff : isr_class;
}

LapicResult lapic_read(const Lapic& a, u32 reg, u64 now, u64* out) {
    if (const int i = lvt_index(reg); i >= 0) {
        *out = a.lvt[i];
        return LapicResult::Ok;
    }
    if (reg >= kApicIsr0 && reg < kApicIsr0 + 8)
        *out = a.isr[reg - kApicIsr0];
    else if (reg >= kApicTmr0 && reg < kApicTmr0 + 8)
        *out = a.tmr[reg - kApicTmr0];
    else if (reg >= kApicIrr0 && reg < kApicIrr0 + 8)
        *out = __atomic_load_n(&a.irr[reg - kApicIrr0], __ATOMIC_ACQUIRE);
    else {
        switch (reg) {
        case kApicId: *out = a.id; break;
        case kApicVersion: *out = 0x00080014; break; // version 0x14, max LVT 8 (9 entries)
        case kApicTpr: *out = a.tpr; break;
        case kApicPpr: *out = lapic_ppr(a); break;
        case kApicLdr: *out = ((a.id >> 4) << 16) | (1u << (a.id & 15)); break; // 11.12.10.2
        case kApicSvr: *out = a.svr; break;
        case kApicEsr: *out = a.esr; break;
        case kApicIcr: *out = a.icr; break;
        case kApicInitialCount: *out = a.initial; break;
        case kApicCurrentCount: {
            u64 count = 0;
            const u64 p = period(a);
            if (timer_mode(a) != kTimerTscDeadline && a.initial != 0 && p != 0) {
                u64 elapsed = now - a.timer_start;
                if (timer_mode(a) == kTimerPeriodic) elapsed %= p;
                if (elapsed < p) count = a.initial - elapsed / divisor(a.divide_config);
            }
            *out = count;
            break;
        }
        case kApicDivide: *out = a.divide_config; break;
        default: return LapicResult::Refused; // EOI and SELF IPI are write-only
        }
    }
    return LapicResult::Ok;
}

LapicResult lapic_write(Lapic& a, u32 reg, u64 value, u64 now) {
    if (const int i = lvt_index(reg); i >= 0) {
        const u32 mask = lvt_writable(reg);
        if (value & ~u64{mask}) return LapicResult::Refused;
        u32 v = static_cast<u32>(value);
        if (!enabled(a)) v |= kLvtMask; // 11.4.7.2: masks stay set while disabled
        if (reg == kApicLvtTimer) {
            const u32 old_mode = timer_mode(a);
            a.lvt[i] = v;
            if (timer_mode(a) != old_mode) { // 11.5.4.1: a mode change disarms the timer
                a.timer_next = 0, a.tsc_deadline = 0, a.initial = 0;
            }
        } else {
            a.lvt[i] = v;
        }
        return LapicResult::Ok;
    }
    switch (reg) {
    case kApicTpr:
        if (value > 0xff) return LapicResult::Refused;
        a.tpr = static_cast<u32>(value);
        return LapicResult::Ok;
    case kApicEoi: {
        if (value != 0) return LapicResult::Refused; // 11.12.9: non-zero EOI -> #GP
        const int v = highest(a.isr);
        if (v >= 0) clear_bit(a.isr, static_cast<u8>(v));
        return LapicResult::Ok;
    }
    case kApicSvr:
        if (value & ~u64{0x11ff}) return LapicResult::Refused; // vector, enable, EOI suppress
        a.svr = static_cast<u32>(value) & ~(1u << 12);         // no EOI-broadcast suppression
        if (!enabled(a))
            for (u32& l : a.lvt)
                l |= kLvtMask;
        return LapicResult::Ok;
    case kApicEsr:
        if (value != 0) return LapicResult::Refused; // x2APIC: only 0 may be written
        a.esr = 0;
        return LapicResult::Ok;
    case kApicIcr:
        // Reserved: 13, 16-17, 20-31 (11.12.9; 32-63 is the destination).
        if (value & 0xfff32000ull) return LapicResult::Refused;
        a.icr = value & ~(1ull << 12); // delivery status always idle
        return LapicResult::SendIpi;
    case kApicSelfIpi:
        if (value & ~u64{0xff}) return LapicResult::Refused;
        return LapicResult::SendIpi;
    case kApicInitialCount:
        if (value > 0xffffffff) return LapicResult::Refused;
        if (timer_mode(a) == kTimerTscDeadline) return LapicResult::Ok; // ignored (11.5.4.1)
        a.initial = static_cast<u32>(value);
        arm_count(a, now);
        return LapicResult::Ok;
    case kApicDivide:
        if (value & ~u64{0xb}) return LapicResult::Refused;
        a.divide_config = static_cast<u32>(value);
        return LapicResult::Ok;
    default: return LapicResult::Refused; // read-only or unknown
    }
}

u32 lapic_mmio_read(const Lapic& a, u64 offset, u64 now) {
    if (offset & 0xf) return 0;
    const u32 reg = static_cast<u32>(offset >> 4);
    switch (reg) {
    case kApicId: return a.id << 24;
    case kApicLdr: return a.ldr;
    case kApicLdr + 1: return a.dfr;
    case kApicIcr: return static_cast<u32>(a.icr);
    case kApicIcr + 1: return static_cast<u32>(a.icr >> 32);
    case kApicSelfIpi: return 0;
    default: {
        u64 v = 0;
        return lapic_read(a, reg, now, &v) == LapicResult::Ok ? static_cast<u32>(v) : 0;
    }
    }
}

LapicResult lapic_mmio_write(Lapic& a, u64 offset, u32 value, u64 now) {
    if (offset & 0xf) return LapicResult::Ok;
    const u32 reg = static_cast<u32>(offset >> 4);
    switch (reg) {
    case kApicLdr: a.ldr = value & 0xff000000u; return LapicResult::Ok;
    case kApicLdr + 1: a.dfr = value | 0x0fffffffu; return LapicResult::Ok;
    case kApicIcr + 1: a.icr = (a.icr & 0xffffffffull) | (u64{value} << 32); return LapicResult::Ok;
    case kApicIcr:
        a.icr = (a.icr & ~0xffffffffull) | (value & ~(1u << 12) & ~0xfff32000u);
        return LapicResult::SendIpi;
    case kApicEoi: return lapic_write(a, kApicEoi, 0, now);
    case kApicEsr: a.esr = 0; return LapicResult::Ok;
    case kApicTpr:
    case kApicSvr:
    case kApicInitialCount:
    case kApicDivide: {
        const u64 masks[] = {0xff, 0x11ff, 0xffffffff, 0xb};
        const u64 m = masks[reg == kApicTpr ? 0 : reg == kApicSvr ? 1 : reg == kApicDivide ? 3 : 2];
        (void)lapic_write(a, reg, value & m, now);
        return LapicResult::Ok;
    }
    default:
        if (lvt_index(reg) >= 0) (void)lapic_write(a, reg, value & lvt_writable(reg), now);
        return LapicResult::Ok; // read-only or reserved: ignored
    }
}

u64 lapic_icr_of(const Lapic& a, u32 reg, u64 value) {
    if (a.xapic) // ICR high's destination (31:24) to the x2APIC position
        return (a.icr & 0xffffffffull) | ((a.icr >> 56) << 32);
    // SELF IPI: fixed, edge, physical, destination shorthand "self" (18:19 = 01b).
    return reg == kApicSelfIpi ? (value & 0xff) | (1ull << 18) | (1ull << 14) : a.icr;
}

u64 lapic_deadline_read(const Lapic& a) {
    return timer_mode(a) == kTimerTscDeadline ? a.tsc_deadline : 0;
}

void lapic_deadline_write(Lapic& a, u64 value) {
    if (timer_mode(a) != kTimerTscDeadline) return;
    a.tsc_deadline = value;
    a.timer_next = value;
}

u64 lapic_timer_next(const Lapic& a) { return a.timer_next; }

void lapic_timer_update(Lapic& a, u64 now) {
    if (a.timer_next == 0 || static_cast<i64>(now - a.timer_next) < 0) return;
    if (!(timer_lvt(a) & kLvtMask)) lapic_post(a, static_cast<u8>(timer_lvt(a) & 0xff));
    switch (timer_mode(a)) {
    case kTimerPeriodic: {
        const u64 p = period(a);
        a.timer_next = a.timer_start + ((now - a.timer_start) / p + 1) * p;
        break;
    }
    case kTimerTscDeadline: a.tsc_deadline = 0, a.timer_next = 0; break;
    default: a.timer_next = 0; break;
    }
}

void lapic_post(Lapic& a, u8 vector) {
    if (vector >= 16) set_bit(a.irr, vector); // 0-15 are illegal vectors (11.5.3: ESR)
}

int lapic_pending(const Lapic& a) {
    if (!enabled(a)) return -1;
    const int v = highest(a.irr);
    if (v < 0 || (static_cast<u32>(v) & 0xf0) <= (lapic_ppr(a) & 0xf0)) return -1;
    return v;
}

void lapic_accept(Lapic& a, u8 vector) {
    clear_bit(a.irr, vector);
    set_bit(a.isr, vector);
}

bool lapic_logical_match(const Lapic& a, u32 dest, bool ioapic8) {
    if (a.xapic) {
        const u32 ldr = a.ldr >> 24;
        if ((a.dfr >> 28) == 0xf) return (ldr & dest & 0xff) != 0; // flat
        return (dest & 0xf0) == (ldr & 0xf0) && (dest & ldr & 0xf) != 0;
    }
    if (ioapic8) return a.id < 8 && (dest & 0xff & (1u << a.id)) != 0;
    return (dest >> 16) == (a.id >> 4) && (dest & 0xffff & (1u << (a.id & 15))) != 0;
}

} // namespace keel::virt
