// The incoming image's entry for the outgoing image's other cores (docs/handover.md §4.5,
// §5.1). The incoming boot core names it in the doorbell once it has relocated this image and
// zeroed its .bss; each other core of the outgoing image enters it once, through
// keel_x86_handover_call on the flat map with interrupts masked:
//   RDI = the doorbell, RSI = where to hand back, RDX = the core's save area (the cookie).
// Each takes the next of this image's visitor stacks and runs x86_handover_secondary_main,
// which never returns. A core beyond the stacks goes back at once (code 0).

#include "asm_offsets.h"

    .text
    .code64
    .globl keel_x86_handover_secondary
    .type keel_x86_handover_secondary, @function
keel_x86_handover_secondary:
    cld
    mov     $1, %eax
    lock xadd %eax, keel_x86_handover_arrivals(%rip)
    cmp     $KEEL_X86_MAX_CPUS, %eax
    jae     1f
    inc     %eax                    // its stack's top: the end of its slot
    shl     $KEEL_X86_HANDOVER_STACK_SHIFT, %rax
    lea     keel_x86_handover_stacks(%rip), %rsp
    add     %rax, %rsp
    xor     %ebp, %ebp              // end of frame-pointer chain
    call    x86_handover_secondary_main // (doorbell, back, cookie): never returns
1:  xor     %edi, %edi
    mov     %rsi, %rax
    mov     %rdx, %rsi
    jmp     *%rax
    .size keel_x86_handover_secondary, . - keel_x86_handover_secondary

    .section .note.GNU-stack, "", @progbits
