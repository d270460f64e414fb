// Self-relocation of the x86_64 image (docs/handover.md §1.4). The image is a static PIE
// linked at 2 MiB: its code is RIP-relative, and the absolute pointers in its data (vtables,
// tables of handlers, the GOT) are listed in .rela.dyn as R_X86_64_RELATIVE, each word
// already holding its linked value (--apply-dynamic-relocs). Loaded where it is linked (every
// Multiboot and UEFI boot) there is nothing to do; run elsewhere (an incoming image in the
// update region), each such word becomes its addend plus the load offset. Called by every
// 64-bit entry with a stack and before any C++; it touches only its scratch registers and
// the words it relocates (RAX, RCX, RDX, RSI, RDI, R8-R10: a caller keeps what it needs). A relocation of another type, or one outside .rodata-.data (where
// nothing is written later than this), stops the boot with a message on COM1.

#include "early_stop.h"

#define R_X86_64_RELATIVE 8

    .text
    .code64
    .globl keel_self_relocate
    .type keel_self_relocate, @function
keel_self_relocate:
    lea     __image_start(%rip), %rax
    movabs  $keel_abs_image_start, %rcx // where it is linked: a constant, not relocated
    mov     %rcx, keel_image_linked_at(%rip)
    sub     %rcx, %rax                  // the load offset
    xor     %r8d, %r8d                  // relocations applied
    test    %rax, %rax
    jz      2f
    lea     __rela_start(%rip), %rsi
    lea     __rela_end(%rip), %rdi
    lea     __text_end(%rip), %r9       // the relocated words lie in [__text_end, __bss_start)
    lea     __bss_start(%rip), %r10
1:  cmp     %rdi, %rsi
    jae     2f
    cmpq    $R_X86_64_RELATIVE, 8(%rsi) // r_info: symbol 0, type RELATIVE
    jne     3f
    mov     (%rsi), %rdx                // r_offset, as linked
    add     %rax, %rdx
    cmp     %r9, %rdx
    jb      3f
    lea     8(%rdx), %rcx
    cmp     %r10, %rcx
    ja      3f
    mov     16(%rsi), %rcx              // r_addend: the linked value
    add     %rax, %rcx
    mov     %rcx, (%rdx)
    inc     %r8
    add     $24, %rsi
    jmp     1b
2:  mov     %r8, keel_relocations(%rip)
    ret
3:  lea     bad_reloc_msg(%rip), %rsi
    keel_early_stop
    .size keel_self_relocate, . - keel_self_relocate

    .section .rodata
bad_reloc_msg:
    .asciz  "KEEL PANIC: image relocation other than R_X86_64_RELATIVE, or outside .rodata-.data\r\n"

    // Read by boot.cpp for its line; in .data, which no entry zeroes.
    .section .data.keel_relocations, "aw"
    .balign 8
    .globl keel_relocations, keel_image_linked_at
keel_relocations:
    .quad   0
keel_image_linked_at:
    .quad   0
