// arm64 entry. The image begins with the arm64 Linux Image header
// (Documentation/arch/arm64/booting.rst) so QEMU's -kernel loads it, 2 MiB aligned,
// and enters it at EL2 with x0 = physical address of the DTB.

#include "asm_offsets.h"

    .section .text.head, "ax"
    .globl _head
_head:
    b       primary_entry           // code0
    .long   0                       // code1
    .quad   0                       // text_offset: load at a 2 MiB boundary
    .quad   __image_size            // image_size (non-zero: the loader honours the header)
    .quad   0                       // flags: little-endian, 2 MiB aligned near the base of DRAM
    .quad   0                       // res2
    .quad   0                       // res3
    .quad   0                       // res4
    .ascii  "ARM\x64"               // magic at 0x38
    .long   0                       // res5

    .text
primary_entry:
    mov     x19, x0                 // DTB physical address
    msr     daifset, #0xf           // no interrupts until vectors and stacks exist
    mrs     x1, CurrentEL
    lsr     x1, x1, #2
    and     x1, x1, #3
    cmp     x1, #2
    b.ne    wrong_el

    // Vectors first, so even a fault during set-up is reported.
    adr_l   x1, el2_vectors
    msr     vbar_el2, x1
    isb

    // Zero .bss (the boot stack lives there too), then take the boot CPU's stack.
    // 16 bytes per store (linker.ld aligns both ends to 16), 128 bytes per round of
    // ten instructions, then 16 at a time for the tail. DC ZVA would be cheaper still,
    // but the MMU is off (Device memory: DC ZVA faults).
    adr_l   x1, __bss_start
    adr_l   x2, __bss_end
    sub     x3, x2, #128            // a round may start at or below x3
    b       2f
1:  .irp    off, 16, 32, 48, 64, 80, 96, 112
    stp     xzr, xzr, [x1, #\off]
    .endr
    stp     xzr, xzr, [x1], #128
2:  cmp     x1, x3
    b.ls    1b
    b       4f
3:  stp     xzr, xzr, [x1], #16
4:  cmp     x1, x2
    b.lo    3b
    adr_l   x1, boot_stack_top
    mov     sp, x1

    mov     x0, x19
    bl      arm64_boot_main         // C++: page tables, MMU, boot info, keel_main; never returns
    b       park

wrong_el:
    // Not at EL2: nothing to do but say so on the PL011 QEMU virt places at 0x09000000.
    adr_l   x1, wrong_el_msg
    mov     x2, #0x09000000
3:  ldrb    w3, [x1], #1
    cbz     w3, park
    strb    w3, [x2]
    b       3b

park:
    wfe
    b       park

    .section .rodata
wrong_el_msg:
    .asciz  "KEEL PANIC: entered below EL2; Keel needs EL2 (QEMU: -M virt,virtualization=on)\n"

    .section .bss.stack, "aw", %nobits
    .balign 16
    .globl boot_stack_top
boot_stack:
    .space  KEEL_ARM64_STACK_SIZE
boot_stack_top:
