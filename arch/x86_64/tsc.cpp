#include "tsc.hpp"

#include "x86.hpp"

namespace keel::x86 {
namespace {

u64 g_tsc_hz = 0;
TscSource g_tsc_source = TscSource::None;

constexpr u32 kPitHz = 1193182;
constexpr u16 kPitCh2 = 0x42, kPitMode = 0x43, kNmiSc = 0x61; // NMI status/control (port B)
constexpr u8 kGate2 = 1u << 0, kSpeaker = 1u << 1;
constexpr u32 kWindowHz = 100; // 10 ms

inline u64 rdtsc() {
    u32 lo, hi;
    asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return (static_cast<u64>(hi) << 32) | lo;
}

// Channel 2's count between two TSC reads (counter latch command, then the low and the high
// byte, 8254 data sheet "Read Operations"): the TSC at its middle, and the two reads' spread.
struct PitSample {
    u64 tsc, spread;
    u32 count;
};
PitSample pit_sample() {
    const u64 a = rdtsc();
    outb(kPitMode, 0x80); // latch channel 2's count
    const u32 lo = inb(kPitCh2), hi = inb(kPitCh2);
    const u64 b = rdtsc();
    return {a + (b - a) / 2, b - a, hi << 8 | lo};
}
// The tightest of a few samples in a row: one a preemption or an SMI fell into has a spread
// far larger than the others (an emulator's vCPU thread descheduled, a host interrupt).
PitSample pit_tight_sample() {
    PitSample best = pit_sample();
    for (u32 i = 1; i < 5; ++i)
        if (const PitSample s = pit_sample(); s.spread < best.spread) best = s;
    return best;
}

// Channel 2 counts down in mode 0 from 0xffff with its gate high (55 ms before it wraps). The
// TSC is read around its count at the start and once it went down by a 10 ms window: the TSC
// ticks between the two over the PIT's ticks between them is its rate. Reading the count
// (rather than waiting for OUT2 and then reading the TSC) keeps a delay after the window's
// end out of the figure. Bounded: a machine without a PIT reads a count that never moves.
u64 pit_measure() {
    const u8 b = inb(kNmiSc);
    outb(kNmiSc, static_cast<u8>((b & ~kSpeaker) | kGate2));
    outb(kPitMode, 0xb0); // channel 2, lobyte/hibyte, mode 0, binary
    outb(kPitCh2, 0xff);
    outb(kPitCh2, 0xff); // counting starts with the high byte
    constexpr u32 window = kPitHz / kWindowHz;
    const PitSample start = pit_tight_sample();
    if (start.count < window + 1000) return 0; // not counting down from 0xffff
    u64 spins = 0;
    while (pit_sample().count > start.count - window)
        if (++spins > 10000000ull) return 0;
    const PitSample end = pit_tight_sample();
    const u32 ticks = start.count - end.count;
    if (end.count > start.count || ticks < window) return 0;
    return (end.tsc - start.tsc) * kPitHz / ticks;
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
