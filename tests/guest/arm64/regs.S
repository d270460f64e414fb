// Register state a VM can read, for the "no state crosses VMs" test (issue 10 item 1):
// regs_fill writes a distinctive value into every register class below, regs_read
// copies them all into an array, for the next VM on the same core to compare with the
// reset values (guest.c). FP/SIMD needs CPACR_EL1.FPEN = 0b11 first (guest.c sets it).
//
// Array layout (u64 words, regs_read): [0..63] V0..V31 (low, high), [64] FPCR, [65] FPSR,
// [66] CNTP_CTL_EL0, [67] CNTP_CVAL_EL0, [68] PMCR_EL0, [69] PMCCNTR_EL0,
// [70] PMCNTENSET_EL0, [71] PMUSERENR_EL0, [72] AFSR0_EL1, [73] AFSR1_EL1,
// [74] TPIDR_EL0, [75] TPIDRRO_EL0.
    .arch armv8-a+fp+simd
    .text

// void regs_fill(uint64_t pattern)
    .globl regs_fill
regs_fill:
    fmov    d0, x0
    mov     v0.d[1], x0
    .irp n, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
    mov     v\n\().16b, v0.16b
    .endr
    mov     x1, #(3 << 22)          // FPCR: RMode = toward zero
    msr     fpcr, x1
    mov     x1, #(1 << 27)          // FPSR: QC (cumulative saturation)
    msr     fpsr, x1
    msr     cntp_cval_el0, x0
    mov     x1, #2                  // CNTP_CTL: IMASK, timer off
    msr     cntp_ctl_el0, x1
    mrs     x1, pmcr_el0
    orr     x1, x1, #1              // PMCR.E: counters on
    msr     pmcr_el0, x1
    mov     x1, #(1 << 31)          // the cycle counter on, counting
    msr     pmcntenset_el0, x1
    msr     pmccntr_el0, x0
    mov     x1, #1
    msr     pmuserenr_el0, x1       // EL0 may read the counters
    msr     afsr0_el1, x0
    msr     afsr1_el1, x0
    msr     tpidr_el0, x0
    msr     tpidrro_el0, x0
    ret

// void regs_read(uint64_t out[76])
    .globl regs_read
regs_read:
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
    str     q\n, [x0, #(\n * 16)]
    .endr
    add     x0, x0, #(64 * 8)           // the system registers: stp reaches 504 bytes
    mrs     x1, fpcr
    mrs     x2, fpsr
    stp     x1, x2, [x0, #0]
    mrs     x1, cntp_ctl_el0
    mrs     x2, cntp_cval_el0
    stp     x1, x2, [x0, #(2 * 8)]
    mrs     x1, pmcr_el0
    mrs     x2, pmccntr_el0
    stp     x1, x2, [x0, #(4 * 8)]
    mrs     x1, pmcntenset_el0
    mrs     x2, pmuserenr_el0
    stp     x1, x2, [x0, #(6 * 8)]
    mrs     x1, afsr0_el1
    mrs     x2, afsr1_el1
    stp     x1, x2, [x0, #(8 * 8)]
    mrs     x1, tpidr_el0
    mrs     x2, tpidrro_el0
    stp     x1, x2, [x0, #(10 * 8)]
    ret
