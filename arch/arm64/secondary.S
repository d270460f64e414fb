// Entry of secondary cores started with PSCI CPU_ON (Arm DEN 0022 5.6): EL2, MMU and
// caches off, x0 = context_id = this core's PerCpu (identity address).

#include "smp_offsets.h"

    .text
    .globl secondary_entry
secondary_entry:
    msr     daifset, #0xf
    adrp    x1, el2_guest_vectors
    add     x1, x1, :lo12:el2_guest_vectors
    msr     vbar_el2, x1
    isb
    ldr     x1, [x0, #PERCPU_STACK_TOP]
    mov     sp, x1
    bl      arm64_secondary_main    // never returns
1:  wfe
    b       1b
