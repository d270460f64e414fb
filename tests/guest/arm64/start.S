// Keel's arm64 test guest: entry at EL1, MMU off, at the start of its RAM.
// x0 = VM id, x1 = RAM base, x2 = RAM size, x3 = mode (hypervisor/vm/vm_def.hpp GuestMode).
// The first instruction reads the virtual counter for the boot benchmark (x4 =
// CNTVCT_EL0 at the guest's first instruction; CNTVOFF_EL2 = 0, so it counts from reset).

    .section .text.start, "ax"
    .globl _start
_start:
    mrs     x4, cntvct_el0
    adrp    x9, stack_top
    add     x9, x9, :lo12:stack_top
    mov     sp, x9
    bl      guest_main
1:  wfi
    b       1b

// Vector table (D1.10.2): "current EL, SP_ELx" synchronous and IRQ entries save the
// caller-saved registers and call C (guest.c); a synchronous handler returns past the
// faulting instruction or wherever its mode's hook sets ELR_EL1. Anything else is
// unexpected.
    .macro  call_c fn
    sub     sp, sp, #176
    stp     x0, x1, [sp, #0]
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x30, [sp, #144]
    mrs     x0, spsr_el1            // a nested exception (a debug check) would clobber it
    str     x0, [sp, #160]
    bl      \fn
    ldr     x0, [sp, #160]
    msr     spsr_el1, x0
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x30, [sp, #144]
    add     sp, sp, #176
    eret
    .endm

    .balign 0x800
    .globl guest_vectors
guest_vectors:
    .rept 4
    .balign 0x80
    b       unexpected
    .endr
    .balign 0x80
    call_c  guest_sync_exception
    .balign 0x80
    call_c  guest_irq
    .rept 10
    .balign 0x80
    b       unexpected
    .endr

unexpected:
    bl      guest_unexpected
2:  b       2b

    .section .bss.stack, "aw", %nobits
    .balign 16
    .space  16384
stack_top:
