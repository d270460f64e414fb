// FP/SIMD, SVE and SME state to its reset value (zero) before a vCPU's first entry, so
// nothing of the core's previous VM can be read (docs/vm-lifecycle.md "Reset state").
// The hypervisor itself is built -mgeneral-regs-only; only this file touches FP state.
// CPTR_EL2 leaves FP and SVE untrapped at EL2 (el2_regs.hpp).
//
// void arm64_fp_reset(u64 features): bit 0 = SVE implemented, bit 1 = SME implemented.
    .arch armv8.2-a+fp+simd+sve
    .text
    .globl arm64_fp_reset
arm64_fp_reset:
    tbz     x0, #1, 1f
    // SMSTOP (MSR SVCRSMZA, #0): leaves streaming mode and turns ZA off; entering either
    // again starts from zero (ARM DDI 0487 "SME", PSTATE.SM/ZA).
    .inst   0xd503467f
1:  // Writing a V register zeroes the rest of its Z register too (SVE: "upper bits").
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
    movi    v\n\().2d, #0
    .endr
    msr     fpcr, xzr
    msr     fpsr, xzr
    tbz     x0, #0, 2f
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    pfalse  p\n\().b
    .endr
    wrffr   p0.b
2:  ret
