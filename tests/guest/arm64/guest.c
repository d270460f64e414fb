// Keel's arm64 test guest (freestanding C, EL1, MMU off). It exercises what the
// hypervisor must get right for any guest: emulated UART output, HVC and trapped SMC
// calls, zeroed memory, an injected abort for an access outside its RAM, and PSCI
// SYSTEM_OFF. Every line it prints is a marker the emulator tests look for.
#include "guest.h"

#include "../gaps_list.h" // after guest.h: it prints with puts_ and putdec

void regs_fill(uint64_t pattern);
void regs_read(uint64_t out[76]);

extern char __image_end[]; // guest.ld: end of the loaded image, .bss and stack included
static volatile int g_abort_expected;
static volatile uint64_t g_abort_esr;
int (*g_sync_hook)(uint64_t esr);
void (*g_irq_hook)(void);

void guest_sync_exception(void) {
    uint64_t esr, elr;
    __asm__ volatile("mrs %0, esr_el1; mrs %1, elr_el1" : "=r"(esr), "=r"(elr));
    if (g_sync_hook && g_sync_hook(esr)) return;
    puts_("guest: abort caught, esr ");
    puthex(esr);
    puts_("\n");
    if (!g_abort_expected) {
        puts_("guest: unexpected exception, powering off\n");
        hvc(PSCI_SYSTEM_OFF);
    }
    g_abort_esr = esr;
    g_abort_expected = 0;
    __asm__ volatile("msr elr_el1, %0" : : "r"(elr + 4)); // skip the faulting load
}

void guest_irq(void) {
    if (g_irq_hook) {
        g_irq_hook();
        return;
    }
    puts_("guest: unexpected irq, powering off\n");
    hvc(PSCI_SYSTEM_OFF);
}

void guest_unexpected(void) {
    puts_("guest: unexpected vector, powering off\n");
    hvc(PSCI_SYSTEM_OFF);
}

// The area the scrubbing test looks at: from 1 MiB (past image and stack) for up to 4 MiB.
static void ram_window(uint64_t base, uint64_t size, volatile uint64_t** p, uint64_t* words) {
    uint64_t len = size > 5 * 1024 * 1024 ? 4 * 1024 * 1024 : size - 1024 * 1024;
    *p = (volatile uint64_t*)(base + 1024 * 1024);
    *words = len / 8;
}

// Ten thousand rounds of the same four-instruction loop, once with HVC and once with a
// NOP in its place: the difference is the hypervisor's exit-handle-enter path alone.
// `fn` is the function id's top half (movz ..., lsl #16): 0xc600 Keel's null call,
// 0x8400 PSCI_VERSION (what Bao and Xen were measured with, PLATFORMS.md).
#define BENCH_LOOP(fn, insn)                                                                       \
    __asm__ volatile("1: movz x0, #" fn ", lsl #16\n" insn "\n subs %0, %0, #1\n b.ne 1b"          \
                     : "+r"(n)                                                                     \
                     :                                                                             \
                     : "x0", "x1", "x2", "x3", "memory")

static void bench_line(const char* what, uint64_t rounds, uint64_t hvc_ticks, uint64_t nop_ticks) {
    puts_("guest: bench: ");
    putdec(rounds);
    puts_(what);
    putdec(hvc_ticks);
    puts_(" ticks; same loop with nop ");
    putdec(nop_ticks);
    puts_(" ticks");
}

static void bench(uint64_t first_tick) {
    const uint64_t rounds = 10000;
    uint64_t n = rounds;
    uint64_t t0 = cntvct();
    BENCH_LOOP("0xc600", "hvc #0");
    uint64_t t1 = cntvct();
    n = rounds;
    BENCH_LOOP("0xc600", "nop");
    uint64_t t2 = cntvct();
    n = rounds;
    BENCH_LOOP("0x8400", "hvc #0");
    uint64_t t3 = cntvct();
    n = rounds;
    BENCH_LOOP("0x8400", "nop");
    uint64_t t4 = cntvct();
    bench_line(" null hypercalls, ", rounds, t1 - t0, t2 - t1);
    puts_("; first instruction at tick ");
    putdec(first_tick);
    puts_("\n");
    bench_line(" psci_version hypercalls, ", rounds, t3 - t2, t4 - t3);
    puts_("\n");
}

// Issue 10 item 1: a VM fills every register class it can read (regs.S) and powers
// off; the next VM on that core must find each at its reset value. The reset values
// Keel promises (docs/vm-lifecycle.md "Reset state"): zero everywhere, except in
// PMCR_EL0 (N, IDCODE, IMP and LC are the CPU's; E, D, X and DP must read zero) and
// CNTP_CTL_EL0 (ISTATUS is read-only; ENABLE and IMASK must read zero).
static void regs_check(void) {
    static uint64_t r[76];
    regs_read(r);
    static const char* const names[12] = {"fpcr",           "fpsr",          "cntp_ctl_el0",
                                          "cntp_cval_el0",  "pmcr_el0",      "pmccntr_el0",
                                          "pmcntenset_el0", "pmuserenr_el0", "afsr0_el1",
                                          "afsr1_el1",      "tpidr_el0",     "tpidrro_el0"};
    int bad = 0;
    for (int i = 0; i < 64; ++i) {
        if (r[i] == 0) continue;
        puts_("guest: regs: NOT reset: v");
        putdec((uint64_t)(i / 2));
        puts_(i % 2 ? " high = " : " low = ");
        puthex(r[i]);
        puts_("\n");
        ++bad;
    }
    for (int i = 64; i < 76; ++i) {
        uint64_t v = r[i];
        if (i == 68) v &= 0x39ull; // PMCR_EL0: E, D, X, DP
        if (i == 66) v &= 3ull;    // CNTP_CTL_EL0: ENABLE, IMASK (ISTATUS is read-only)
        if (v == 0) continue;
        puts_("guest: regs: NOT reset: ");
        puts_(names[i - 64]);
        puts_(" = ");
        puthex(r[i]);
        puts_("\n");
        ++bad;
    }
    bad += debug_regs_check();
    if (!bad) puts_("guest: regs: all at reset values\n");
}

// Issue 10 item 21: every word of the VM's RAM outside the guest's own image (code, data,
// .bss, stack) must read zero when the VM starts, whatever an earlier VM left in those
// blocks; then the guest fills all of it with a pattern for the next VM to look for.
static void ram_scan(uint64_t ram_base, uint64_t ram_size) {
    const uint64_t start = ((uint64_t)__image_end + 7) & ~7ull;
    volatile uint64_t* p = (volatile uint64_t*)start;
    const uint64_t words = (ram_base + ram_size - start) / 8;
    uint64_t nonzero = 0, first = 0;
    for (uint64_t i = 0; i < words; ++i) {
        if (p[i] != 0 && nonzero++ == 0) first = start + 8 * i;
    }
    if (nonzero) {
        puts_("guest: ram scan: NOT zero: ");
        putdec(nonzero);
        puts_(" words, the first at ");
        puthex(first);
    } else {
        puts_("guest: ram scan: all zero outside the image");
    }
    puts_(" (");
    putdec(words);
    puts_(" words from ");
    puthex(start);
    puts_(" to the end of RAM)\n");
    for (uint64_t i = 0; i < words; ++i)
        p[i] = 0xa5a5a5a500000000ull | i;
    puts_("guest: ram scan: pattern written to all of it\n");
}

// guest:gaps (live update, bench/update_bench.sh): reads its virtual counter in a loop and
// keeps the 16 longest steps between two readings, each with the reading it ended at: the
// times it did not run (an exit, a live update's blackout, or under QEMU -icount another
// core's turn). Each 'g' on its console prints them and starts afresh. The UART is polled
// only every 4096 readings (each poll is an exit). YIELD in the loop: under -icount, which
// runs every core on one thread in turn, a loop without it would keep each turn (100 ms).
#define GAPS_KEPT 16
static void watch_gaps(void) {
    const uint64_t freq = READ_SYSREG(cntfrq_el0);
    // Input opened as Linux's driver opens it (Keel's vuart.cpp rx_visible): UARTCR UARTEN,
    // TXE, RXE, then RXIM set twice in UARTIMSC (IRQs stay masked here: the bit is polled).
    *(volatile uint32_t*)0x09000030 = 0x301;
    *(volatile uint32_t*)0x09000038 = 0x10;
    *(volatile uint32_t*)0x09000038 = 0x10;
    puts_("guest: gaps: watching the counter\n");
    uint64_t len[GAPS_KEPT], end[GAPS_KEPT];
    for (int k = 0; k < GAPS_KEPT; ++k) {
        len[k] = end[k] = 0;
        __asm__ volatile("" ::: "memory"); // a loop, not a memset call (no libc here)
    }
    uint64_t last = cntvct();
    for (uint32_t n = 0;; ++n) {
        __asm__ volatile("yield");
        const uint64_t now = cntvct(), gap = now - last;
        last = now;
        gaps_note(len, end, GAPS_KEPT, gap, now);
        if ((n & 4095) != 0 || (*UART_FR & FR_RXFE) != 0) continue;
        if ((*UART_DR & 0xff) != 'g') continue;
        gaps_print(len, end, GAPS_KEPT, 4, "guest: gaps at ", freq);
        last = cntvct();
    }
}

static void fp_on(void) {
    uint64_t cpacr;
    __asm__ volatile("mrs %0, cpacr_el1" : "=r"(cpacr));
    __asm__ volatile("msr cpacr_el1, %0; isb" : : "r"(cpacr | (3ull << 20))); // FPEN
}

void guest_main(uint64_t vm_id, uint64_t ram_base, uint64_t ram_size, uint64_t mode,
                uint64_t first_tick) {
    puts_("guest: hello from vm ");
    putdec(vm_id);
    puts_(", ");
    putdec(ram_size >> 20);
    puts_(" MiB at ");
    puthex(ram_base);
    puts_("\n");

    if (mode == MODE_REGFILL || mode == MODE_REGCHECK) {
        fp_on();
        if (mode == MODE_REGFILL) {
            regs_fill(0x1122334455667788ull);
            debug_regs_fill(0x1122334455667788ull);
            puts_("guest: regs: filled\n");
        } else {
            regs_check();
        }
        hvc(PSCI_SYSTEM_OFF);
    }

    if (mode == MODE_SCAN) {
        ram_scan(ram_base, ram_size);
        hvc(PSCI_SYSTEM_OFF);
    }

    if (mode >= MODE_FETCH && mode <= MODE_DEAF) {
        __asm__ volatile("msr vbar_el1, %0; isb" : : "r"(guest_vectors));
        if (mode == MODE_FETCH) check_fetch_abort(ram_base, ram_size);
        if (mode == MODE_PTIMER) check_phys_timer();
        if (mode == MODE_DEBUG) check_debug();
        if (mode == MODE_BUTTON) check_button();
        if (mode == MODE_DEAF) {
            // Ignores everything, the power button included: only a forced stop ends it.
            puts_("guest: deaf: ignoring everything\n");
            for (;;)
                __asm__ volatile("wfi");
        }
        hvc(PSCI_SYSTEM_OFF);
    }

    if (mode == MODE_GAPS) watch_gaps();

    if (mode == MODE_NVME) {
        check_nvme(vm_id, ram_base, ram_size);
        puts_("guest: powering off\n");
        hvc(PSCI_SYSTEM_OFF);
    }

    if (mode == MODE_WILD) {
        // No vector table: the abort the hypervisor injects sends the guest to VBAR 0,
        // outside its memory. The hypervisor must stop this VM and nothing else.
        puts_("guest: wild read outside RAM, no vectors\n");
        (void)*(volatile uint64_t*)(ram_base + ram_size);
        puts_("guest: ERROR still running after wild read\n");
        hvc(PSCI_SYSTEM_OFF);
    }

    uint64_t v = hvc(PSCI_VERSION);
    puts_("guest: psci version via hvc ");
    putdec(v >> 16);
    puts_(".");
    putdec(v & 0xffff);
    puts_("\n");
    v = smc(PSCI_VERSION);
    puts_("guest: psci version via smc ");
    putdec(v >> 16);
    puts_(".");
    putdec(v & 0xffff);
    puts_("\n");
    puts_("guest: keel null call returned ");
    puthex(hvc(KEEL_NULL_CALL));
    puts_("\n");

    volatile uint64_t* p;
    uint64_t words;
    ram_window(ram_base, ram_size, &p, &words);
    uint64_t nonzero = 0;
    for (uint64_t i = 0; i < words; ++i)
        nonzero += p[i] != 0;
    puts_(nonzero ? "guest: ram check: NOT zero, words " : "guest: ram check: all zero, words ");
    putdec(words);
    puts_("\n");
    for (uint64_t i = 0; i < words; ++i)
        p[i] = 0x5a5a5a5a00000000ull | i;
    puts_("guest: pattern written\n");

    __asm__ volatile("msr vbar_el1, %0; isb" : : "r"(guest_vectors));
    g_abort_expected = 1;
    (void)*(volatile uint64_t*)(ram_base + ram_size); // first byte past its RAM
    puts_(g_abort_expected ? "guest: ERROR no abort outside RAM\n"
                           : "guest: survived read outside RAM\n");

    if (mode == MODE_BENCH) bench(first_tick);
    puts_("guest: powering off\n");
    hvc(PSCI_SYSTEM_OFF);
    puts_("guest: ERROR still running after SYSTEM_OFF\n");
}
