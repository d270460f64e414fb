// Self-hosted debug from the arm64 test guest (issue 10 item 16): guest:debug arms a
// hardware breakpoint and a watchpoint and takes both debug exceptions at its own
// vector; regfill/regcheck also cover the debug registers (no state crosses VMs).
//
// ARM ARM facts used: ID_AA64DFR0_EL1.BRPs [15:12] / WRPs [23:20] = count - 1 (D17.2.60);
// breakpoint and watchpoint exceptions from EL1 to EL1 need MDSCR_EL1.KDE [13] and
// MDE [15], PSTATE.D = 0 and the OS lock clear (D2.4 "Enabling debug exceptions"); the
// OS lock is set on a cold reset (OSLSR_EL1.OSLK [1] = 1, D17.3.28). Syndromes (D17.2.37):
// breakpoint, same EL: EC 0x31, IL, IFSC 0b100010 = 0xc6000022; watchpoint, same EL:
// EC 0x35, IL, WnR [6] = 1 for a store, DFSC 0b100010 = 0xd6000062, FAR_EL1 the address.
#include "guest.h"

enum { BVR, BCR, WVR, WCR };

// DBGB/WV/CR<n>_EL1 by number: op0 2, op1 0, CRn 0, CRm n, op2 4 BVR / 5 BCR / 6 WVR / 7 WCR.
#define DBG_CASES(X)                                                                               \
    X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define DBG_RD(n)                                                                                  \
    case n:                                                                                        \
        switch (kind) {                                                                            \
        case BVR: return READ_SYSREG(S2_0_C0_C##n##_4);                                            \
        case BCR: return READ_SYSREG(S2_0_C0_C##n##_5);                                            \
        case WVR: return READ_SYSREG(S2_0_C0_C##n##_6);                                            \
        default: return READ_SYSREG(S2_0_C0_C##n##_7);                                             \
        }
#define DBG_WR(n)                                                                                  \
    case n:                                                                                        \
        switch (kind) {                                                                            \
        case BVR: WRITE_SYSREG(S2_0_C0_C##n##_4, v); return;                                       \
        case BCR: WRITE_SYSREG(S2_0_C0_C##n##_5, v); return;                                       \
        case WVR: WRITE_SYSREG(S2_0_C0_C##n##_6, v); return;                                       \
        default: WRITE_SYSREG(S2_0_C0_C##n##_7, v); return;                                        \
        }

static uint64_t dbg_read(int kind, unsigned n) {
    switch (n) { DBG_CASES(DBG_RD) }
    return 0;
}
static void dbg_write(int kind, unsigned n, uint64_t v) {
    switch (n) { DBG_CASES(DBG_WR) }
}

static unsigned count(int kind) {
    const uint64_t dfr0 = READ_SYSREG(id_aa64dfr0_el1);
    return (unsigned)((dfr0 >> (kind == BVR || kind == BCR ? 12 : 20)) & 0xf) + 1;
}

#define MDSCR_KDE (1ull << 13)
#define MDSCR_MDE (1ull << 15)
#define OSLSR_OSLK (1ull << 1)

// regfill: every breakpoint and watchpoint register, MDSCR_EL1, and the OS lock open.
void debug_regs_fill(uint64_t pattern) {
    for (int kind = BVR; kind <= WCR; ++kind)
        for (unsigned n = 0; n < count(kind); ++n)
            // Value registers: a 4-aligned address; control: E, PMC/PAC, BAS/LSC bits.
            dbg_write(kind, n, kind == BVR || kind == WVR ? (pattern & 0xfffffffffffcull) : 0x1e7);
    WRITE_SYSREG(mdscr_el1, MDSCR_KDE | MDSCR_MDE);
    WRITE_SYSREG(oslar_el1, 0);
}

// regcheck: all zero (Keel's reset value, docs/vm-lifecycle.md), the OS lock set as a
// cold reset leaves it. Returns the number of registers not at reset.
int debug_regs_check(void) {
    static const char* const names[4] = {"dbgbvr", "dbgbcr", "dbgwvr", "dbgwcr"};
    int bad = 0;
    for (int kind = BVR; kind <= WCR; ++kind)
        for (unsigned n = 0; n < count(kind); ++n) {
            const uint64_t v = dbg_read(kind, n);
            if (v == 0) continue;
            puts_("guest: regs: NOT reset: ");
            puts_(names[kind]);
            putdec(n);
            puts_("_el1 = ");
            puthex(v);
            puts_("\n");
            ++bad;
        }
    const uint64_t mdscr = READ_SYSREG(mdscr_el1), oslsr = READ_SYSREG(oslsr_el1);
    if (mdscr & (MDSCR_KDE | MDSCR_MDE)) {
        puts_("guest: regs: NOT reset: mdscr_el1 = ");
        puthex(mdscr);
        puts_("\n");
        ++bad;
    }
    if (!(oslsr & OSLSR_OSLK)) {
        puts_("guest: regs: NOT reset: oslsr_el1 (OS lock open) = ");
        puthex(oslsr);
        puts_("\n");
        ++bad;
    }
    return bad;
}

static volatile uint64_t g_bp_esr, g_bp_elr, g_wp_esr, g_wp_far;
static volatile uint64_t g_watched;
static unsigned g_bp, g_wp;

__attribute__((noinline)) static void bp_target(void) { __asm__ volatile("nop"); }

static int debug_hook(uint64_t esr) {
    const uint64_t ec = esr >> 26;
    if (ec == 0x31) {
        g_bp_esr = esr;
        g_bp_elr = READ_SYSREG(elr_el1);
        dbg_write(BCR, g_bp, 0); // return to the instruction, now without the breakpoint
        return 1;
    }
    if (ec == 0x35) {
        g_wp_esr = esr;
        g_wp_far = READ_SYSREG(far_el1);
        dbg_write(WCR, g_wp, 0); // the store runs again, unwatched
        return 1;
    }
    return 0;
}

void check_debug(void) {
    g_bp = count(BVR) - 1; // the last of each: every one must be the guest's
    g_wp = count(WVR) - 1;
    puts_("guest: debug: ");
    putdec(g_bp + 1);
    puts_(" breakpoints, ");
    putdec(g_wp + 1);
    puts_(" watchpoints, os lock ");
    puts_(READ_SYSREG(oslsr_el1) & OSLSR_OSLK ? "set\n" : "clear\n");
    g_sync_hook = debug_hook;
    WRITE_SYSREG(oslar_el1, 0);
    WRITE_SYSREG(mdscr_el1, READ_SYSREG(mdscr_el1) | MDSCR_KDE | MDSCR_MDE);
    dbg_write(BVR, g_bp, (uint64_t)&bp_target);
    dbg_write(BCR, g_bp, 0x1e7); // E, PMC = EL1 and EL0, BAS = 0b1111, unlinked address match
    dbg_write(WVR, g_wp, (uint64_t)&g_watched);
    dbg_write(WCR, g_wp, 0x1ff7); // E, PAC = EL1 and EL0, LSC = store, BAS = all 8 bytes
    __asm__ volatile("msr daifclr, #8; isb" ::: "memory"); // PSTATE.D = 0
    bp_target();
    g_watched = 42;
    __asm__ volatile("msr daifset, #8; isb" ::: "memory");
    WRITE_SYSREG(mdscr_el1, 0);
    g_sync_hook = 0;
    if (g_bp_esr == 0) puts_("guest: ERROR debug: the breakpoint did not fire\n");
    if (g_wp_esr == 0) puts_("guest: ERROR debug: the watchpoint did not fire\n");
    puts_("guest: debug: breakpoint esr ");
    puthex(g_bp_esr);
    puts_(g_bp_elr == (uint64_t)&bp_target ? " at the target" : " ELSEWHERE");
    puts_(", watchpoint esr ");
    puthex(g_wp_esr);
    puts_(g_wp_far == (uint64_t)&g_watched ? " on the variable" : " ELSEWHERE");
    puts_(g_watched == 42 ? ", store done\n" : ", store LOST\n");
}
