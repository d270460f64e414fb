// Architecture checks of the arm64 test guest, one a mode (issue 10 items 14 and 15):
// what a bare machine gives an EL1 guest, checked from inside. Each prints raw values
// and a verdict; the expected values in tests/emu/arm64_vms.tests.cmake come from the
// ARM ARM, not from Keel.
#include "gic.h"
#include "guest.h"

// --- guest:fetch: an instruction fetch outside the guest's memory ---------------------
// A bare machine (and Keel now) delivers a synchronous external abort on instruction
// fetch to the current EL1 vector (VBAR_EL1 + 0x200): ESR_EL1 EC 0x21, IL, IFSC 0x10;
// FAR_EL1 = ELR_EL1 = the address fetched; SPSR_EL1 = PSTATE at the fetch; PSTATE on
// entry EL1h, DAIF masked, PAN set because SCTLR_EL1.SPAN is 0 (D1.3.4).

static volatile uint64_t g_resume;
static volatile uint64_t g_esr, g_far, g_elr, g_spsr, g_daif, g_el, g_spsel, g_pan;

#define PAN_REG S3_0_C4_C2_3 // PSTATE.PAN as a register (FEAT_PAN)

static int fetch_hook(uint64_t esr) {
    if ((esr >> 26) != 0x21 || g_resume == 0) return 0;
    g_esr = esr;
    g_far = READ_SYSREG(far_el1);
    g_elr = READ_SYSREG(elr_el1);
    g_spsr = READ_SYSREG(spsr_el1);
    g_daif = READ_SYSREG(daif);
    g_el = READ_SYSREG(currentel);
    g_spsel = READ_SYSREG(spsel);
    g_pan = READ_SYSREG(PAN_REG);
    WRITE_SYSREG(elr_el1, g_resume);
    g_resume = 0;
    return 1;
}

void check_fetch_abort(uint64_t ram_base, uint64_t ram_size) {
    const uint64_t target = ram_base + ram_size; // the first byte past its RAM
    const uint64_t sctlr = READ_SYSREG(sctlr_el1);
    g_sync_hook = fetch_hook;
    WRITE_SYSREG(sctlr_el1, sctlr & ~(1ull << 23)); // SPAN = 0: entry must set PAN
    WRITE_SYSREG(PAN_REG, 0);
    puts_("guest: fetch: branching to ");
    puthex(target);
    puts_("\n");
    // NZCV = Z, C before the branch: SPSR_EL1 must carry them.
    __asm__ volatile("adr x9, 1f\n str x9, [%0]\n msr nzcv, %1\n br %2\n 1:"
                     :
                     : "r"(&g_resume), "r"(0x60000000ull), "r"(target)
                     : "x9", "memory", "cc");
    WRITE_SYSREG(sctlr_el1, sctlr);
    g_sync_hook = 0;
    if (g_esr == 0) {
        puts_("guest: ERROR fetch: no instruction abort\n");
        return;
    }
    puts_("guest: fetch abort: esr ");
    puthex(g_esr);
    puts_(" far ");
    puthex(g_far);
    puts_(" elr ");
    puthex(g_elr);
    puts_(" spsr ");
    puthex(g_spsr);
    puts_("\n");
    puts_("guest: fetch abort: entry currentel ");
    puthex(g_el);
    puts_(" spsel ");
    puthex(g_spsel);
    puts_(" daif ");
    puthex(g_daif);
    puts_(" pan ");
    puthex(g_pan);
    puts_("\n");
}

// --- guest:ptimer: the EL1 physical timer and its PPI 30 ------------------------------
// CNTP_TVAL_EL0 is a signed 32-bit countdown: writing it sets CVAL = CNTPCT + TVAL,
// reading it gives CVAL - CNTPCT (D11.2.4). While ENABLE = 1 and CNTPCT >= CVAL,
// ISTATUS = 1 and, unless IMASK, the timer asserts its interrupt: PPI 30 (INTID 30,
// the non-secure EL1 physical timer) on a GICv3, level-sensitive.

static volatile uint32_t g_ptimer_irqs, g_watchdog;
static volatile uint64_t g_irq_ctl, g_irq_count, g_irq_cval;
static volatile int64_t g_irq_tval;

static void timer_irq(void) {
    const uint64_t id = READ_SYSREG(ICC_IAR1) & 0xffffff;
    if (id == 30) {
        g_irq_ctl = READ_SYSREG(cntp_ctl_el0);
        g_irq_count = READ_SYSREG(cntpct_el0);
        g_irq_cval = READ_SYSREG(cntp_cval_el0);
        g_irq_tval = (int32_t)READ_SYSREG(cntp_tval_el0);
        WRITE_SYSREG(cntp_ctl_el0, 0); // the level drops
        ++g_ptimer_irqs;
    } else if (id == 27) {
        WRITE_SYSREG(cntv_ctl_el0, 0);
        g_watchdog = 1;
    } else {
        puts_("guest: ptimer: unexpected intid ");
        putdec(id);
        puts_("\n");
    }
    WRITE_SYSREG(ICC_EOIR1, id); // EOImode 0: drop and deactivate
}

// Sleeps in WFI with IRQs unmasked until PPI 30 or the watchdog (the virtual timer,
// `ticks` from now) fires. Returns 1 for the physical timer.
static int wait_ptimer_irq(uint64_t ticks) {
    const uint32_t before = g_ptimer_irqs;
    g_watchdog = 0;
    WRITE_SYSREG(cntv_cval_el0, READ_SYSREG(cntvct_el0) + ticks);
    WRITE_SYSREG(cntv_ctl_el0, 1);
    __asm__ volatile("msr daifclr, #2" ::: "memory");
    while (g_ptimer_irqs == before && !g_watchdog)
        __asm__ volatile("wfi" ::: "memory");
    __asm__ volatile("msr daifset, #2" ::: "memory");
    WRITE_SYSREG(cntv_ctl_el0, 0);
    return g_ptimer_irqs != before;
}

static void yes_no(const char* what, int ok) {
    puts_(what);
    puts_(ok ? " yes" : " NO");
}

void check_phys_timer(void) {
    const uint64_t freq = READ_SYSREG(cntfrq_el0);
    g_irq_hook = timer_irq;
    gic_enable_ppis((1u << 30) | (1u << 27));

    // TVAL countdown: CVAL = CNTPCT + TVAL at the write; TVAL reads the remainder.
    const uint64_t t = freq / 50; // 20 ms
    const uint64_t c0 = READ_SYSREG(cntpct_el0);
    WRITE_SYSREG(cntp_tval_el0, t);
    const uint64_t c1 = READ_SYSREG(cntpct_el0);
    const uint64_t cval = READ_SYSREG(cntp_cval_el0);
    const int64_t tval = (int32_t)READ_SYSREG(cntp_tval_el0);
    const int tval_ok = cval >= c0 + t && cval <= c1 + t && tval > 0 && (uint64_t)tval <= t;
    WRITE_SYSREG(cntp_ctl_el0, 1); // ENABLE, IMASK = 0
    const int got = wait_ptimer_irq(2 * freq);
    puts_("guest: ptimer: tval countdown");
    puts_(tval_ok ? " ok" : " WRONG");
    puts_(", cntfrq ");
    putdec(freq);
    puts_("\n");
    if (!got) {
        puts_("guest: ERROR ptimer: no interrupt on PPI 30 within 2 s\n");
        return;
    }
    yes_no("guest: ptimer: irq 30 taken, istatus", (g_irq_ctl & 4) != 0);
    yes_no(", not before cval", g_irq_count >= g_irq_cval);
    yes_no(", tval negative after expiry", g_irq_tval <= 0);
    puts_("\n");

    // IMASK: the timer condition holds (ISTATUS) but no interrupt; clearing IMASK then
    // delivers it (a level, not an edge that was lost).
    WRITE_SYSREG(cntp_tval_el0, freq / 100);
    WRITE_SYSREG(cntp_ctl_el0, 3); // ENABLE | IMASK
    const uint64_t until = READ_SYSREG(cntpct_el0) + freq;
    while (!(READ_SYSREG(cntp_ctl_el0) & 4) && READ_SYSREG(cntpct_el0) < until) {
    }
    const int masked_quiet = !wait_ptimer_irq(freq / 20); // 50 ms with IRQs open
    const int istatus = (READ_SYSREG(cntp_ctl_el0) & 4) != 0;
    WRITE_SYSREG(cntp_ctl_el0, 1); // unmask
    const int after_unmask = wait_ptimer_irq(2 * freq);
    yes_no("guest: ptimer: masked: istatus", istatus);
    yes_no(", no irq", masked_quiet);
    yes_no(", unmasked: irq 30 taken", after_unmask);
    puts_("\n");
    g_irq_hook = 0;
}
