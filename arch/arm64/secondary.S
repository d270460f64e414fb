// Entry of secondary cores started with PSCI CPU_ON (Arm DEN 0022 5.6): EL2, MMU and
// caches off, x0 = context_id = this core's PerCpu (identity address).

#include "smp_offsets.h"

// keel_adopted_secondary: a core a live update brought into this image that stays here
// (handover_entry.cpp): the same vectors and stack, its MMU already on with this image's
// tables, x0 = its PerCpu; arm64_adopted_secondary_main takes its state over.

.macro vectors_and_stack
    msr     daifset, #0xf
    adrp    x1, el2_guest_vectors
    add     x1, x1, :lo12:el2_guest_vectors
    msr     vbar_el2, x1
    isb
    ldr     x1, [x0, #PERCPU_STACK_TOP]
    mov     sp, x1
.endm

    .text
    .globl secondary_entry
secondary_entry:
    vectors_and_stack
    bl      arm64_secondary_main    // never returns
1:  wfe
    b       1b

    .globl keel_adopted_secondary
keel_adopted_secondary:
    vectors_and_stack
    bl      arm64_adopted_secondary_main // never returns
2:  wfe
    b       2b
