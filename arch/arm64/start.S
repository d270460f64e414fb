// arm64 entry. The image begins with the arm64 Linux Image header
// (Documentation/arch/arm64/booting.rst) so QEMU's -kernel loads it, 2 MiB aligned,
// and enters it at EL2 with x0 = physical address of the DTB.
// The image is a static PIE linked at 0x40200000: loaded anywhere else (4 KiB aligned),
// the entry first applies its R_AARCH64_RELATIVE relocations (docs/handover.md §1.4),
// with the MMU off and before any C++ runs, so a live update can run the incoming image
// from the update region while the outgoing one stays where it is.

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
    mov     x19, x0                 // DTB, UEFI BootInfo or handover record (physical)
    mov     x22, x1                 // live update only: where to hand back
    mov     x23, x2                 //   the console UART
    mov     x24, x3                 //   the outgoing image's cookie
    mov     x25, x4                 //   the doorbell (handover_jump.S)
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

    // The pristine copy (docs/handover.md §2.2 OldImage, restore_*): the loaded bytes from
    // .dynamic to .bss (.data, .got), before relocation or any store changes them, into
    // .pristine. An image that replaced this one by a live update puts them back to roll back
    // to it (§4.7). .text and .rodata never change but by relocation, which every entry
    // redoes from the addends (each relocated word written afresh, never read), and .bss and
    // .noinit are set up at every entry. 64 bytes a round: this is on the boot path.
    adr_l   x9, __rodata_end
    adr_l   x10, __bss_start
    adr_l   x11, __pristine_copy
    sub     x12, x10, #64
7:  cmp     x9, x12
    b.hi    8f                              // under 64 bytes left
    ldp     x5, x6, [x9]
    ldp     x7, x8, [x9, #16]
    ldp     x13, x14, [x9, #32]
    ldp     x15, x16, [x9, #48]
    stp     x5, x6, [x11]
    stp     x7, x8, [x11, #16]
    stp     x13, x14, [x11, #32]
    stp     x15, x16, [x11, #48]
    add     x9, x9, #64
    add     x11, x11, #64
    b       7b
8:  cmp     x9, x10
    b.hs    9f
    ldp     x5, x6, [x9], #16
    stp     x5, x6, [x11], #16
    b       8b
9:

    // Self-relocation. The code is PC-relative (small code model: adrp/adr), so only
    // the absolute pointers in data (vtables, tables of pointers, .init_array) depend on
    // the load address; lld lists each as R_AARCH64_RELATIVE in .rela.dyn and, with
    // --apply-dynamic-relocs, also writes its linked value in place, so a load at the
    // linked address needs nothing and keel_link_base reads the linked address.
    // x20 = linked base, x21 = relocations applied (both for arm64_boot_main).
    adr_l   x2, _head                       // where the image runs
    tst     x2, #0xfff                      // adrp needs the 4 KiB offsets kept
    b.ne    misaligned
    adr_l   x20, keel_link_base
    ldr     x20, [x20]                      // where it was linked
    sub     x3, x2, x20                     // the displacement
    mov     x21, #0
    cbz     x3, 6f
    adr_l   x4, __rela_start
    adr_l   x5, __rela_end
    adr_l   x9, __text_end                  // every place inside the pristine copy's span
    sub     x9, x9, x3                      //   (linked addresses)
    adr_l   x10, __bss_start
    sub     x10, x10, x3
5:  cmp     x4, x5
    b.hs    6f
    ldp     x6, x7, [x4], #16               // Elf64_Rela: r_offset, r_info
    ldr     x8, [x4], #8                    //             r_addend
    cmp     x7, #1027                       // R_AARCH64_RELATIVE, no symbol
    b.ne    bad_reloc
    cmp     x6, x9
    b.lo    bad_reloc
    cmp     x6, x10
    b.hs    bad_reloc
    add     x8, x8, x3                      // S + A at the new address
    str     x8, [x6, x3]                    // into the place's new address
    add     x21, x21, #1
    b       5b
6:

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
    mov     x1, x20
    mov     x2, x21
    mov     x3, x22
    mov     x4, x23
    mov     x5, x24
    mov     x6, x25
    bl      arm64_boot_main         // C++: page tables, MMU, boot info, keel_main; never returns
    b       park

misaligned:
    adr_l   x1, misaligned_msg
    b       early_fail
bad_reloc:
    adr_l   x1, bad_reloc_msg
    b       early_fail
wrong_el:
    adr_l   x1, wrong_el_msg
early_fail:
    // Before the platform is known: nothing to do but say so on the PL011 QEMU virt
    // places at 0x09000000.
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
misaligned_msg:
    .asciz  "KEEL PANIC: image loaded at an address that is not 4 KiB aligned\n"
bad_reloc_msg:
    .asciz  "KEEL PANIC: image relocation other than R_AARCH64_RELATIVE, or outside .rodata-.data\n"

    // The linked address of _head: lld writes it here (--apply-dynamic-relocs) and lists
    // the word as one more relocation, so after relocating it reads the running address.
    .section .data.keel_link_base, "aw"
    .balign 8
    .globl  keel_link_base
keel_link_base:
    .quad   _head

    .section .bss.stack, "aw", %nobits
    .balign 16
    .globl boot_stack_top
boot_stack:
    .space  KEEL_ARM64_STACK_SIZE
boot_stack_top:
