#include "core_reset.hpp"

#include "hypervisor/print.hpp"
#include "percpu.hpp"
#include "psci.hpp"
#include "sysreg.hpp"

extern "C" void arm64_fp_reset(keel::u64 features);

namespace keel::arm64 {
namespace {

// SMCCC (DEN 0028): version, feature query, and the branch-predictor invalidation service.
constexpr u64 kSmcccVersion = 0x80000000, kSmcccArchFeatures = 0x80000001;
constexpr u64 kArchWorkaround1 = 0x80008000;

u64 g_fp_features = 0; // arm64_fp_reset's flags
u32 g_pmu_counters = 0;
bool g_pmu = false;
bool g_bp_workaround = false;
u32 g_breakpoints = 0, g_watchpoints = 0;

// DBGB/WV/CR<n>_EL1 by number (op0 2, op1 0, CRn 0, CRm n, op2 4/5/6/7).
// One case a line: the formatter does not settle on this macro.
// clang-format off
#define KEEL_DBG_CASES(X) \
    X(0) \
    X(1) \
    X(2) \
    X(3) \
    X(4) \
    X(5) \
    X(6) \
    X(7) \
    X(8) \
    X(9) \
    X(10) \
    X(11) \
    X(12) \
    X(13) \
    X(14) \
    X(15)
// clang-format on

void debug_reset() {
    // Every breakpoint and watchpoint disabled with a zero address, MDSCR_EL1 zero (no
    // debug exceptions, no step), the OS double lock clear and the OS lock set, as a cold
    // reset leaves it (OSLSR_EL1.OSLK resets to 1, D17.3.28).
#define KEEL_DBG_RESET(n)                                                                          \
    if (n < g_breakpoints) {                                                                       \
        KEEL_WRITE_SYSREG(S2_0_C0_C##n##_5, 0);                                                    \
        KEEL_WRITE_SYSREG(S2_0_C0_C##n##_4, 0);                                                    \
    }                                                                                              \
    if (n < g_watchpoints) {                                                                       \
        KEEL_WRITE_SYSREG(S2_0_C0_C##n##_7, 0);                                                    \
        KEEL_WRITE_SYSREG(S2_0_C0_C##n##_6, 0);                                                    \
    }
    KEEL_DBG_CASES(KEEL_DBG_RESET)
#undef KEEL_DBG_RESET
    KEEL_WRITE_SYSREG(mdscr_el1, 0);
    KEEL_WRITE_SYSREG(osdlr_el1, 0);
    KEEL_WRITE_SYSREG(oslar_el1, 1);
    isb();
}

void pmu_reset() {
    // Counting off, every counter disabled, no overflow interrupt or flag, EL0 access off,
    // every event selection and filter zero, then P and C reset the event and cycle
    // counters (D13 "The Performance Monitors Extension"; PMCR_EL0 D17.5.7).
    KEEL_WRITE_SYSREG(pmcntenclr_el0, ~0ull);
    KEEL_WRITE_SYSREG(pmintenclr_el1, ~0ull);
    KEEL_WRITE_SYSREG(pmovsclr_el0, ~0ull);
    KEEL_WRITE_SYSREG(pmuserenr_el0, 0);
    KEEL_WRITE_SYSREG(pmccfiltr_el0, 0);
    for (u32 n = 0; n < g_pmu_counters; ++n) {
        KEEL_WRITE_SYSREG(pmselr_el0, n);
        isb();
        KEEL_WRITE_SYSREG(pmxevtyper_el0, 0);
    }
    KEEL_WRITE_SYSREG(pmselr_el0, 0);
    constexpr u64 kP = 1u << 1, kC = 1u << 2, kLc = 1u << 6;
    KEEL_WRITE_SYSREG(pmcr_el0, (KEEL_READ_SYSREG(pmcr_el0) & kLc) | kP | kC);
    isb();
}

} // namespace

void core_reset_probe() {
    const u64 pfr0 = KEEL_READ_SYSREG(id_aa64pfr0_el1), pfr1 = KEEL_READ_SYSREG(id_aa64pfr1_el1);
    g_fp_features = (((pfr0 >> 32) & 0xf) != 0 ? 1u : 0u) | (((pfr1 >> 24) & 0xf) != 0 ? 2u : 0u);
    const u64 dfr0 = KEEL_READ_SYSREG(id_aa64dfr0_el1);
    g_breakpoints = static_cast<u32>((dfr0 >> 12) & 0xf) + 1; // BRPs, WRPs: count - 1
    g_watchpoints = static_cast<u32>((dfr0 >> 20) & 0xf) + 1;
    const u64 pmuver = (dfr0 >> 8) & 0xf;
    g_pmu = pmuver != 0 && pmuver != 0xf;
    if (g_pmu) g_pmu_counters = static_cast<u32>((KEEL_READ_SYSREG(pmcr_el0) >> 11) & 0x1f);
    const u64 version = psci_call(kSmcccVersion);
    g_bp_workaround = static_cast<i64>(version) >= 0x10001 &&
                      psci_call(kSmcccArchFeatures, kArchWorkaround1) == 0;
    kprint("vcpu reset: FP/SIMD%s%s, PMU %s (%u counters), %u breakpoints, %u watchpoints; "
           "firmware ARCH_WORKAROUND_1 %s\n",
           (g_fp_features & 1) ? " + SVE" : "", (g_fp_features & 2) ? " + SME" : "",
           g_pmu ? "reset" : "absent", g_pmu_counters, g_breakpoints, g_watchpoints,
           g_bp_workaround ? "used when a core changes VM" : "not offered");
}

void core_reset_for_vcpu(u16 vm_id) {
    PerCpu& me = this_cpu();
    if (me.last_vm != vm_id) {
        if (me.last_vm != 0 && g_bp_workaround) (void)psci_call(kArchWorkaround1);
        me.last_vm = vm_id;
    }
    arm64_fp_reset(g_fp_features);
    if (g_pmu) pmu_reset();
    debug_reset();
}

} // namespace keel::arm64
