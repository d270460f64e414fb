#include "tsc.hpp"

#include "x86.hpp"

namespace keel::x86 {
namespace {

u64 g_tsc_hz = 0;
TscSource g_tsc_source = TscSource::None;

constexpr u32 kPitHz = 1193182;
constexpr u16 kPitCh2 = 0x42, kPitMode = 0x43, kNmiSc = 0x61; // NMI status/control (port B)
constexpr u8 kGate2 = 1u << 0, kSpeaker = 1u << 1, kOut2 = 1u << 5;
constexpr u32 kWindowHz = 100; // 10 ms

inline u64 rdtsc() {
    u32 lo, hi;
    asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return (static_cast<u64>(hi) << 32) | lo;
}

// Channel 2 in mode 0 (interrupt on terminal count) counts down from `latch` with its
// gate high; OUT2 (port 0x61 bit 5) goes high at zero. The TSC ticks in between, times
// 100, are its rate. Bounded: a machine without a PIT reads 0xff or never flips.
u64 pit_measure() {
    const u8 b = inb(kNmiSc);
    outb(kNmiSc, static_cast<u8>((b & ~kSpeaker) | kGate2));
    outb(kPitMode, 0xb0); // channel 2, lobyte/hibyte, mode 0, binary
    constexpr u32 latch = kPitHz / kWindowHz;
    outb(kPitCh2, static_cast<u8>(latch & 0xff));
    const u64 t0 = rdtsc();
    outb(kPitCh2, static_cast<u8>(latch >> 8)); // counting starts with the high byte
    u64 spins = 0;
    while ((inb(kNmiSc) & kOut2) == 0)
        if (++spins > 100000000ull) return 0;
    const u64 t1 = rdtsc();
    if (spins == 0) return 0; // OUT2 already high: no PIT answering
    return (t1 - t0) * kWindowHz;
}

} // namespace

TscRate tsc_calibrate() {
    TscRate r{0, TscSource::None};
    if (cpuid(0).eax >= 0x15) {
        const CpuidRegs l = cpuid(0x15);
        r.hz = tsc_hz_from_leaf15(l.eax, l.ebx, l.ecx);
        if (r.hz != 0) r.source = TscSource::Cpuid15;
    }
    if (r.hz == 0) {
        r.hz = pit_measure();
        if (r.hz != 0) r.source = TscSource::Pit;
    }
    tsc_adopt(r);
    return r;
}

void tsc_adopt(TscRate r) {
    g_tsc_hz = r.hz;
    g_tsc_source = r.source;
}

u64 tsc_hz() { return g_tsc_hz; }
TscRate tsc_rate() { return {g_tsc_hz, g_tsc_source}; }

} // namespace keel::x86
