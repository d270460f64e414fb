// The multi-vCPU test (a VM with several cores): the topology CPUID and the x2APIC
// report, then the BSP starts each AP the x86 way (SDM Vol. 3A 9.4.4.1: INIT, STARTUP
// with the trampoline's page as vector, through the x2APIC ICR, MSR 0x830). Each AP
// prints "cpu N up", counts itself in a shared counter, enables its local APIC and sleeps
// in HLT (woken only by the BSP's IPI and NMI, apic.c); the BSP waits for the count and
// returns (power-off), which must end the VM with the AP still asleep (issue 10 item 12:
// the old tree busy-waited for a timer deadline and never let the VM end).
#include <stdint.h>

#include "guest.h"

volatile uint64_t g_ap_stack, g_ap_cr3; // read by start.S's AP path
static volatile uint32_t g_ap_count;
static volatile uint32_t g_hammer;        // mode mmio: the APs hammer the scratch page too
static volatile uint32_t g_hammer_done;   // APs finished hammering
static volatile uint32_t g_hammer_errors; // read-backs that differed, all vCPUs
static uint8_t g_ap_stacks[4][8192] __attribute__((aligned(16)));
extern char ap_trampoline[];

// Issue 10 item 11: every vCPU stores to and loads from the one scratch MMIO page in a
// tight loop, each at its own offsets, so the hypervisor emulates on several cores at once
// (each emulation fetches this same code page and walks the same guest page tables).
enum { kHammerRounds = 1000 };
static void hammer_mmio(uint32_t cpu) {
    volatile uint64_t* q = (volatile uint64_t*)(SCRATCH + 256 + 64 * cpu);
    uint32_t errors = 0;
    for (uint64_t i = 0; i < kHammerRounds; ++i) {
        const uint64_t v = (i << 8) | cpu;
        uint64_t a, b;
        // Plain MOVs only (the forms the scratch device emulates), not a CMP with memory.
        __asm__ volatile("movq %2, (%1); movq %3, 8(%1); movq (%1), %0"
                         : "=&r"(a)
                         : "r"(q), "r"(v), "r"(~v)
                         : "memory");
        __asm__ volatile("movq 8(%1), %0" : "=r"(b) : "r"(q) : "memory");
        if (a != v || b != ~v) ++errors;
    }
    __atomic_fetch_add(&g_hammer_errors, errors, __ATOMIC_SEQ_CST);
}

void ap_main(void) {
    idt_load();
    uint32_t r[4];
    cpuid_(1, 0, r);
    puts_("cpu ");
    putdec(r[1] >> 24); // initial APIC id = vCPU index
    puts_(rdmsr64(0x802) == r[1] >> 24 ? " up\n" : " up, FAIL: x2APIC id differs\n");
    __atomic_fetch_add(&g_ap_count, 1, __ATOMIC_SEQ_CST);
    if (g_hammer) {
        hammer_mmio(r[1] >> 24);
        __atomic_fetch_add(&g_hammer_done, 1, __ATOMIC_SEQ_CST);
    }
    apic_enable(); // HLT may wait: an IPI or NMI from the BSP wakes it (apic.c)
    for (;;)
        __asm__ volatile("sti; hlt" ::: "memory");
}

// Mode mmio: start the APs, hammer alongside them, wait for them, report.
void run_mmio_smp(unsigned cpus, uint64_t base) {
    g_hammer = 1;
    run_smp(cpus, base);
    hammer_mmio(0);
    for (uint64_t spin = 0; g_hammer_done < g_ap_count && spin < (1ull << 34); ++spin)
        __asm__ volatile("pause");
    check(g_hammer_done == cpus - 1, "mmio-smp: every AP finished hammering the scratch page");
    check(g_hammer_errors == 0, "mmio-smp: every read-back matched on every vCPU");
    puts_("mmio-smp: ");
    putdec(kHammerRounds * 4);
    puts_(" MMIO accesses on each of ");
    putdec(g_hammer_done + 1);
    puts_(" vCPUs\n");
}

void run_smp(unsigned cpus, uint64_t base) {
    uint32_t r[4];
    cpuid_(1, 0, r);
    check(((r[1] >> 16) & 0xff) == cpus && (r[1] >> 24) == 0,
          "smp: cpuid leaf 1 lists the vCPU count, initial APIC id 0");
    check((r[2] & (1u << 21)) != 0, "smp: cpuid leaf 1 x2APIC bit set");
    cpuid_(0xb, 0, r);
    check(r[3] == 0, "smp: cpuid leaf 0xb x2APIC id 0");
    const uint64_t apic_base = rdmsr64(0x1b);
    check((apic_base & 0xd00) == 0xd00 && rdmsr64(0x802) == 0,
          "smp: IA32_APIC_BASE enabled, x2APIC, BSP, x2APIC id 0");
    const uint64_t vector = ((uint64_t)ap_trampoline - base) >> 12;
    uint64_t cr3;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    for (unsigned i = 1; i < cpus && i < 4; ++i) {
        g_ap_stack = (uint64_t)(g_ap_stacks[i] + sizeof g_ap_stacks[i]);
        g_ap_cr3 = cr3;
        wrmsr64(0x830, ((uint64_t)i << 32) | 0x4500);          // INIT, level assert
        wrmsr64(0x830, ((uint64_t)i << 32) | 0x4600 | vector); // STARTUP
        wrmsr64(0x830, ((uint64_t)i << 32) | 0x4600 | vector); // the second one is ignored
        for (uint64_t spin = 0; g_ap_count < i && spin < (1ull << 28); ++spin)
            __asm__ volatile("pause");
        if (g_ap_count < i) break;
    }
    check(g_ap_count == cpus - 1, "smp: every AP started by INIT/SIPI counted itself");
    puts_("smp: ");
    putdec(g_ap_count + 1);
    puts_(" cpus ran\n");
}
