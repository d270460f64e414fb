// EL2 exception vectors (ARM ARM D1.10.2: 16 entries of 0x80 bytes, 2 KiB aligned).
// Every entry saves a full frame and calls arm64_exception(frame, index); for the
// first-light image every exception taken at EL2 is unexpected and reported.

#include "asm_offsets.h"

.macro vector index
    .balign 0x80
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #16 * 0]
    mov     x0, #\index
    b       save_frame
.endm

    .section .text.vectors, "ax"
    .balign 0x800
    .globl el2_vectors
el2_vectors:
    vector 0    // current EL, SP_EL0: sync
    vector 1    //                     irq
    vector 2    //                     fiq
    vector 3    //                     serror
    vector 4    // current EL, SP_ELx: sync
    vector 5    //                     irq
    vector 6    //                     fiq
    vector 7    //                     serror
    vector 8    // lower EL, AArch64:  sync
    vector 9    //                     irq
    vector 10   //                     fiq
    vector 11   //                     serror
    vector 12   // lower EL, AArch32:  sync
    vector 13   //                     irq
    vector 14   //                     fiq
    vector 15   //                     serror

save_frame:
    // x0 holds the vector index; the original x0/x1 are already in the frame.
    stp     x2, x3, [sp, #16 * 1]
    stp     x4, x5, [sp, #16 * 2]
    stp     x6, x7, [sp, #16 * 3]
    stp     x8, x9, [sp, #16 * 4]
    stp     x10, x11, [sp, #16 * 5]
    stp     x12, x13, [sp, #16 * 6]
    stp     x14, x15, [sp, #16 * 7]
    stp     x16, x17, [sp, #16 * 8]
    stp     x18, x19, [sp, #16 * 9]
    stp     x20, x21, [sp, #16 * 10]
    stp     x22, x23, [sp, #16 * 11]
    stp     x24, x25, [sp, #16 * 12]
    stp     x26, x27, [sp, #16 * 13]
    stp     x28, x29, [sp, #16 * 14]
    add     x1, sp, #FRAME_SIZE
    stp     x30, x1, [sp, #FRAME_SP - 8]
    mrs     x1, elr_el2
    mrs     x2, spsr_el2
    stp     x1, x2, [sp, #FRAME_ELR]
    mrs     x1, esr_el2
    mrs     x2, far_el2
    stp     x1, x2, [sp, #FRAME_ESR]
    mov     x1, x0
    mov     x0, sp
    bl      arm64_exception         // reports and halts
1:  wfe
    b       1b
