// Live update's jump (docs/handover.md §4.3, §4.5). Every core of the outgoing image enters
// the incoming image the same way, keel_handover_call: it saves what it needs to come back in
// its own save area (24 words, cleaned to the point of coherency: the return path reads it
// with the MMU off), turns its EL2 MMU and data cache off and branches to the incoming entry
// with x0 = the handover record, x1 = where to hand back, x2 = the console UART, x3 = the save
// area (a cookie the incoming image hands back untouched), x4 = the doorbell. The boot core
// enters at the image's entry (start.S), a parked core at the incoming image's
// keel_handover_secondary, which the incoming image names in the doorbell.
// handover_return: the incoming image hands back there, MMU off, x0 = its answer
// (update::encode_hand_back), x1 = the cookie; the outgoing image's translation regime,
// vectors, stack and callee-saved registers come back and keel_handover_call returns x0.
// keel_handover_back: the incoming image's side of the hand-back.

#include "asm_offsets.h"

#define SCTLR_M (1 << 0)
#define SCTLR_C (1 << 2)
#define HANDOVER_STACK 4096

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

    .text
    .globl  keel_handover_call
keel_handover_call:     // u64 (u64 entry, u64 record, u64 uart, u64* save, u64 doorbell)
    mov     x9, x3
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

handover_return:                        // MMU off, x0 = the answer, x1 = the save area
    msr     daifset, #0xf
    mov     x9, x1
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
keel_handover_back:         // [[noreturn]] (u64 back, u64 answer, u64 cookie), incoming image
    mmu_off
    mov     x9, x0
    mov     x0, x1
    mov     x1, x2
    br      x9

// A parked core of the outgoing image arrives here (MMU off, the arguments above). Its own
// vectors and a stack by MPIDR_EL1.Aff0 (QEMU virt numbers cores 0..n there; one past the
// stacks hands straight back), then C++ (handover_entry.cpp). The guest's EL1, FP/SIMD and
// ICH_* registers stay in the core: nothing on this path touches them.
    .globl  keel_handover_secondary
keel_handover_secondary:
    msr     daifset, #0xf
    adr_l   x9, el2_vectors
    msr     vbar_el2, x9
    isb
    mrs     x9, mpidr_el1
    and     x9, x9, #0xff
    cmp     x9, #KEEL_HANDOVER_CPUS
    b.hs    1f
    adr_l   x10, handover_stacks
    add     x9, x9, #1
    mov     x11, #HANDOVER_STACK
    madd    x10, x9, x11, x10               // the top of stack Aff0
    mov     sp, x10
    bl      handover_secondary_main         // never returns
1:  mov     x9, x1                          // no stack for it: answer None at once
    mov     x1, x3
    mov     x0, #0
    mmu_off
    br      x9

    .section .noinit.handover_stacks, "aw", %nobits
    .balign 16
handover_stacks:
    .space  HANDOVER_STACK * KEEL_HANDOVER_CPUS
