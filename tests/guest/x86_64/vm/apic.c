// The in-guest local APIC suite (issue 12), the same code under VMX and SVM: the x2APIC
// timer in periodic and TSC-deadline mode (halted and running guest), a masked LVT, self
// IPIs through SELF IPI and the ICR's self shorthand, an NMI with interrupts disabled, an
// NMI sent from inside an NMI handler (held until its IRET), and with two vCPUs an IPI and an NMI
// from the BSP to the AP. The references are the SDM's (Vol. 3A ch. 11): the APIC timer counts at
// the core crystal clock, whose ratio to the TSC CPUID leaf 0x15 gives (11.5.4), so a periodic
// timer of initial count N fires every N * EBX / EAX TSC ticks, never earlier; a TSC-deadline timer
// fires once the TSC reaches the deadline, then disarms and reads 0 (11.5.4.1); an NMI is not
// masked by RFLAGS.IF but blocks further NMIs until the next IRET (6.7.1); SELF IPI is a fixed
// interrupt to the sender (11.12.11). Also the timer-delivery benchmark (bench mode): TSC deadline
// -> the guest's handler.
#include "guest.h"

enum { V_PERIODIC = 0x30, V_DEADLINE = 0x31, V_SELF = 0x32, V_IPI = 0x33 };
enum {
    MSR_TSC_DEADLINE = 0x6e0,
    X2_EOI = 0x80b,
    X2_SVR = 0x80f,
    X2_ICR = 0x830,
    X2_LVT_TIMER = 0x832,
    X2_INITIAL = 0x838,
    X2_CURRENT = 0x839,
    X2_DIVIDE = 0x83e,
    X2_SELF_IPI = 0x83f,
};
// How long a check waits for something that must come (TSC ticks, about 3 s at 3 GHz):
// without -icount the TSC runs in wall time, and a loaded host may not run the target
// vCPU's thread for tens of milliseconds. Only a failing check waits this long.
#define kPatience (1ull << 33)
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)
#define LVT_DEADLINE (2u << 17)

// Written by the handlers (start.S's apic stubs call apic_irq / apic_nmi), per vector.
volatile uint32_t g_apic_hits[4];
volatile uint64_t g_apic_tsc[4][4]; // the first four arrivals' TSC, per vector
volatile uint32_t g_nmi_hits[2];    // per vCPU (APIC id 0 / 1)

void apic_irq(uint64_t vector) {
    const uint32_t i = (uint32_t)vector - V_PERIODIC;
    const uint32_t n = g_apic_hits[i];
    if (n < 4) g_apic_tsc[i][n] = rdtsc_();
    g_apic_hits[i] = n + 1;
    wrmsr64(X2_EOI, 0);
}

volatile uint32_t g_nmi_depth, g_nmi_max_depth, g_nmi_resend;

void apic_nmi(void) {
    const uint32_t depth = ++g_nmi_depth;
    if (depth > g_nmi_max_depth) g_nmi_max_depth = depth;
    uint32_t r[4];
    cpuid_(1, 0, r);
    __atomic_fetch_add(&g_nmi_hits[(r[1] >> 24) & 1], 1, __ATOMIC_SEQ_CST);
    if (g_nmi_resend) {
        // Another NMI to itself from inside the handler, then exits (CPUID) that would let
        // a hypervisor deliver it: it must wait for this handler's IRET (SDM Vol. 3A 6.7.1).
        g_nmi_resend = 0;
        wrmsr64(X2_ICR, 4u << 8);
        for (int i = 0; i < 20; ++i)
            cpuid_(0, 0, r);
    }
    --g_nmi_depth;
}

extern char apic_stub_30[], apic_stub_31[], apic_stub_32[], apic_stub_33[], nmi_stub[];
void set_gate(unsigned v, void* handler);

// Every vCPU that takes part: its IDT entries are shared (one IDT), its APIC is its own.
void apic_enable(void) {
    wrmsr64(X2_SVR, 0x1ff); // APIC software enabled, spurious vector 0xff
}

static void install(void) {
    set_gate(V_PERIODIC, apic_stub_30);
    set_gate(V_DEADLINE, apic_stub_31);
    set_gate(V_SELF, apic_stub_32);
    set_gate(V_IPI, apic_stub_33);
    set_gate(2, nmi_stub);
}

// TSC ticks per APIC timer tick from CPUID 0x15 (EBX / EAX), as a ratio.
static void crystal_ratio(uint32_t* num, uint32_t* den) {
    uint32_t r[4];
    cpuid_(0x15, 0, r);
    *num = r[1];
    *den = r[0];
}

// HLT with interrupts enabled until `*flag` reaches `want` or `tries` wake-ups pass.
static void wait_hlt(volatile uint32_t* flag, uint32_t want, unsigned tries) {
    while (*flag < want && tries--) {
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    }
}

// Spins with interrupts enabled (no exit of its own) for at most `ticks` TSC ticks.
static void wait_running(volatile uint32_t* flag, uint32_t want, uint64_t ticks) {
    const uint64_t t0 = rdtsc_();
    __asm__ volatile("sti" ::: "memory");
    while (*flag < want && rdtsc_() - t0 < ticks) {
    }
    __asm__ volatile("cli" ::: "memory");
}

static void check_periodic(void) {
    uint32_t num, den;
    crystal_ratio(&num, &den);
    check(num != 0 && den != 0, "apic: cpuid 0x15 gives the TSC / crystal ratio");
    if (num == 0 || den == 0) return;
    // Long enough that one exit and entry fit in a period many times over: without
    // -icount the emulators' TSC runs in wall time, and a period shorter than a round trip
    // through the hypervisor would keep the guest in its handler for good.
    const uint64_t count = 2000000, period = count * num / den;
    wrmsr64(X2_DIVIDE, 0xb); // divide by 1 (11.5.4, figure 11-10)
    wrmsr64(X2_LVT_TIMER, V_PERIODIC | LVT_PERIODIC);
    const uint64_t t0 = rdtsc_();
    wrmsr64(X2_INITIAL, count);
    const uint64_t cur = rdmsr64(X2_CURRENT);
    wait_hlt(&g_apic_hits[0], 3, 100);
    wrmsr64(X2_LVT_TIMER, V_PERIODIC | LVT_PERIODIC | LVT_MASKED);
    wrmsr64(X2_INITIAL, 0); // stops the timer
    check(cur != 0 && cur <= count, "apic: periodic timer current count counts down from initial");
    check(g_apic_hits[0] >= 3, "apic: periodic timer interrupt 0x30 came 3 times");
    // The k-th expiry is at t0 + (k+1) * period at the earliest. No upper bound: without
    // -icount the emulators' TSC runs in wall time, and a loaded host delays any delivery.
    int on_time = g_apic_hits[0] >= 3;
    for (unsigned k = 0; k < 3 && on_time; ++k)
        on_time = g_apic_tsc[0][k] - t0 >= (k + 1) * period;
    check(on_time, "apic: periodic timer fires every initial count x crystal ratio, never early");
}

static void check_deadline(void) {
    uint32_t r[4];
    cpuid_(1, 0, r);
    check((r[2] & (1u << 24)) != 0, "apic: cpuid leaf 1 TSC-deadline bit set");
    wrmsr64(X2_LVT_TIMER, V_DEADLINE | LVT_DEADLINE);
    // Far enough out that the read-back normally finds it armed; if the host stalled the
    // vCPU past it, the timer has fired and reading 0 is right (the TSC says which).
    uint64_t deadline = rdtsc_() + 20000000;
    wrmsr64(MSR_TSC_DEADLINE, deadline);
    const uint64_t armed = rdmsr64(MSR_TSC_DEADLINE), read_at = rdtsc_();
    wait_hlt(&g_apic_hits[1], 1, 100);
    check(armed == deadline || (armed == 0 && read_at >= deadline),
          "apic: IA32_TSC_DEADLINE reads the armed deadline");
    check(g_apic_hits[1] == 1 && g_apic_tsc[1][0] >= deadline,
          "apic: TSC-deadline interrupt 0x31 woke the HLT, not before the deadline");
    check(rdmsr64(MSR_TSC_DEADLINE) == 0, "apic: IA32_TSC_DEADLINE reads 0 once it fired");
    // A running guest (no HLT, no exit of its own) gets it too.
    deadline = rdtsc_() + 100000;
    wrmsr64(MSR_TSC_DEADLINE, deadline);
    wait_running(&g_apic_hits[1], 2, kPatience);
    check(g_apic_hits[1] == 2 && g_apic_tsc[1][1] >= deadline,
          "apic: TSC-deadline interrupt reached the running guest, not before the deadline");
    // Masked: the deadline passes and nothing arrives (11.5.1: the mask bit inhibits it).
    wrmsr64(X2_LVT_TIMER, V_DEADLINE | LVT_DEADLINE | LVT_MASKED);
    deadline = rdtsc_() + 50000;
    wrmsr64(MSR_TSC_DEADLINE, deadline);
    wait_running(&g_apic_hits[1], 3, 400000);
    check(g_apic_hits[1] == 2, "apic: a masked TSC-deadline timer delivers nothing");
    wrmsr64(MSR_TSC_DEADLINE, 0);
}

static void check_self_ipis(void) {
    wrmsr64(X2_SELF_IPI, V_SELF);
    wait_running(&g_apic_hits[2], 1, kPatience);
    check(g_apic_hits[2] == 1, "apic: SELF IPI delivered vector 0x32 to this vCPU");
    wrmsr64(X2_ICR, (1u << 18) | V_SELF); // fixed, shorthand self (11.6.1)
    wait_running(&g_apic_hits[2], 2, kPatience);
    check(g_apic_hits[2] == 2, "apic: ICR self shorthand delivered vector 0x32");
    // NMI to its own APIC id with interrupts disabled: taken anyway.
    wrmsr64(X2_ICR, 4u << 8); // delivery mode NMI, physical destination 0 (this vCPU)
    const uint64_t t0 = rdtsc_();
    while (g_nmi_hits[0] == 0 && rdtsc_() - t0 < kPatience) {
    }
    check(g_nmi_hits[0] == 1, "apic: NMI taken with RFLAGS.IF clear");
    g_nmi_resend = 1;
    wrmsr64(X2_ICR, 4u << 8);
    const uint64_t t1 = rdtsc_();
    while (g_nmi_hits[0] < 3 && rdtsc_() - t1 < kPatience) {
    }
    check(g_nmi_hits[0] == 3 && g_nmi_max_depth == 1,
          "apic: an NMI sent from an NMI handler waits for its IRET (no nesting)");
}

void run_apic_checks(void) {
    install();
    apic_enable();
    check(rdmsr64(X2_SVR) == 0x1ff, "apic: SVR software enable reads back");
    check_periodic();
    check_deadline();
    check_self_ipis();
}

// Two vCPUs: the AP (APIC id 1, in HLT with its APIC enabled) takes a fixed IPI and an NMI
// from the BSP.
void run_apic_smp_checks(void) {
    install();
    apic_enable();
    wrmsr64(X2_ICR, (1ull << 32) | V_IPI); // fixed, physical destination 1
    uint64_t t0 = rdtsc_();
    while (g_apic_hits[3] == 0 && rdtsc_() - t0 < kPatience) {
    }
    check(g_apic_hits[3] == 1, "apic-smp: IPI 0x33 from vCPU 0 reached vCPU 1");
    wrmsr64(X2_ICR, (1ull << 32) | (4u << 8)); // NMI to vCPU 1
    t0 = rdtsc_();
    while (g_nmi_hits[1] == 0 && rdtsc_() - t0 < kPatience) {
    }
    check(g_nmi_hits[1] == 1 && g_nmi_hits[0] == 0,
          "apic-smp: NMI from vCPU 0 reached vCPU 1 only");
}

// Bench: `rounds` TSC deadlines `ahead` ticks out; the sum of (handler's TSC - deadline).
static uint64_t deadline_latency(int halted, unsigned rounds, uint64_t ahead) {
    uint64_t total = 0;
    for (unsigned i = 0; i < rounds; ++i) {
        g_apic_hits[1] = 0;
        const uint64_t deadline = rdtsc_() + ahead;
        wrmsr64(MSR_TSC_DEADLINE, deadline);
        if (halted)
            wait_hlt(&g_apic_hits[1], 1, 100);
        else
            wait_running(&g_apic_hits[1], 1, kPatience);
        if (g_apic_hits[1] != 1) return 0;
        total += g_apic_tsc[1][0] - deadline;
    }
    return total;
}

void run_timer_bench(unsigned rounds) {
    install();
    apic_enable();
    wrmsr64(X2_LVT_TIMER, V_DEADLINE | LVT_DEADLINE);
    bench_report("tsc-deadline timer to handler, guest halted", deadline_latency(1, rounds, 50000),
                 rounds);
    bench_report("tsc-deadline timer to handler, guest running", deadline_latency(0, rounds, 50000),
                 rounds);
    wrmsr64(X2_LVT_TIMER, V_DEADLINE | LVT_DEADLINE | LVT_MASKED);
}
