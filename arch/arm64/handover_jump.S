// Live update's jump (docs/handover.md §4.3). keel_handover_call: the outgoing image's boot
// core saves what it needs to come back, turns its EL2 MMU and data cache off and enters the
// incoming image (x0 = the handover record, x1 = where to hand back, x2 = the console UART).
// handover_return: the incoming image hands back there, MMU off, x0 = its answer
// (update::encode_hand_back); the outgoing image's translation regime, vectors, stack and
// callee-saved registers come back and keel_handover_call returns that answer.
// keel_handover_back: the incoming image's side of the hand-back.

#include "asm_offsets.h"

#define SCTLR_M (1 << 0)
#define SCTLR_C (1 << 2)

// x19..x30 to or from [base]: \op is stp or ldp.
.macro callee_saved op, base
    .irp pair, "x19, x20, [\base, #0]", "x21, x22, [\base, #16]", "x23, x24, [\base, #32]", \
               "x25, x26, [\base, #48]", "x27, x28, [\base, #64]", "x29, x30, [\base, #80]"
    \op    \pair
    .endr
.endm

// Stage 1 and the data cache off (SCTLR_EL2.M, .C), interrupts masked. The image runs
// identity-mapped (VA = PA), so the next fetch is the same instruction with the MMU off.
.macro mmu_off
    msr     daifset, #0xf
    dsb     sy
    mrs     x10, sctlr_el2
    bic     x10, x10, #SCTLR_M
    bic     x10, x10, #SCTLR_C
    msr     sctlr_el2, x10
    isb
.endm

    // x19..x30, sp, DAIF, SCTLR/TCR/MAIR/TTBR0/VBAR_EL2: read back with the MMU off, so it
    // is cleaned to the point of coherency before the MMU goes off (three 64-byte lines).
    .section .bss.handover_save, "aw", %nobits
    .balign 64
handover_save:
    .space  192

    .text
    .globl  keel_handover_call
keel_handover_call:                     // u64 (u64 entry, u64 record, u64 uart)
    adr_l   x9, handover_save
    callee_saved stp, x9
    mov     x10, sp
    mrs     x11, daif
    stp     x10, x11, [x9, #96]
    mrs     x10, sctlr_el2
    mrs     x11, tcr_el2
    stp     x10, x11, [x9, #112]
    mrs     x10, mair_el2
    mrs     x11, ttbr0_el2
    stp     x10, x11, [x9, #128]
    mrs     x10, vbar_el2
    str     x10, [x9, #144]
    msr     daifset, #0xf
    dc      civac, x9
    add     x10, x9, #64
    dc      civac, x10
    add     x10, x9, #128
    dc      civac, x10
    mmu_off
    ic      iallu                       // the incoming image's code was written as data
    dsb     sy
    isb
    mov     x9, x0
    mov     x0, x1
    adr_l   x1, handover_return
    br      x9

handover_return:                        // MMU off, x0 = the incoming image's answer
    msr     daifset, #0xf
    adr_l   x9, handover_save
    ldp     x10, x11, [x9, #128]
    msr     mair_el2, x10
    msr     ttbr0_el2, x11
    ldr     x10, [x9, #120]
    msr     tcr_el2, x10
    ldr     x10, [x9, #144]
    msr     vbar_el2, x10
    // The incoming image's translations and instructions are not ours (EL2 regime, this
    // core only: D8.13 TLB maintenance), then stage 1 and the caches as they were.
    dsb     sy
    tlbi    alle2
    ic      iallu
    dsb     sy
    isb
    ldr     x10, [x9, #112]
    msr     sctlr_el2, x10
    isb
    ldp     x10, x11, [x9, #96]
    mov     sp, x10
    callee_saved ldp, x9
    msr     daif, x11
    ret

    .globl  keel_handover_back
keel_handover_back:                     // [[noreturn]] (u64 back, u64 answer), incoming image
    mmu_off
    mov     x9, x0
    mov     x0, x1
    br      x9
