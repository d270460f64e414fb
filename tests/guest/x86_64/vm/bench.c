// Round-trip costs in guest TSC ticks (docs/performance.md): a calibration loop of a
// known instruction count, then 1,000 VMCALL (VMMCALL on AMD; null) and 1,000 CPUID
// (leaf 0) exits, then 100 TSC-deadline timer deliveries each with the guest halted and
// running (apic.c; the figure is the handler's TSC minus the deadline).
#include "guest.h"

#define N 1000

void bench_report(const char* what, uint64_t ticks, uint64_t rounds) {
    puts_("bench: ");
    puts_(what);
    puts_(" ");
    putdec(ticks);
    puts_(" ticks total, ");
    putdec(ticks / rounds);
    puts_(" per iteration\n");
}
static void report(const char* what, uint64_t ticks) { bench_report(what, ticks, N); }

void run_bench(void) {
    uint64_t t0 = rdtsc_();
    for (uint64_t i = N * 10; i; --i)
        __asm__ volatile("" ::: "memory"); // inc + jne at -O2
    uint64_t t1 = rdtsc_();
    report("calibration loop (10,000 x 2 instructions, per 10)", t1 - t0);
    uint32_t r[4];
    // One loop per instruction, so the loop stays the same 5 instructions on both vendors.
    t0 = rdtsc_();
    if (g_vmmcall) {
        for (int i = 0; i < N; ++i)
            hc_vmmcall(HC_NULL, 0);
    } else {
        for (int i = 0; i < N; ++i)
            hc_vmcall(HC_NULL, 0);
    }
    t1 = rdtsc_();
    report(g_vmmcall ? "vmmcall null round trip" : "vmcall null round trip", t1 - t0);
    t0 = rdtsc_();
    for (int i = 0; i < N; ++i)
        cpuid_(0, 0, r);
    t1 = rdtsc_();
    report("cpuid leaf 0 round trip", t1 - t0);
    run_timer_bench(N / 10);
}
