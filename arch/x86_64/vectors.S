// Exception entry stubs for vectors 0-31 (SDM Vol. 3A 6.3.1, table 6-1). Each stub
// makes the frame uniform (pushes 0 where the CPU pushes no error code), pushes its
// vector number and joins exception_common, which saves every GPR and calls
// x86_exception(frame). In the first-light image every exception is unexpected and
// reported, so nothing returns (no iretq path yet).

#include "asm_offsets.h"

// Vectors for which the CPU pushes an error code: #DF 8, #TS 10, #NP 11, #SS 12,
// #GP 13, #PF 14, #AC 17, #CP 21, #VC 29, #SX 30.
#define HAS_ERROR(v) ((v) == 8 || (v) == 10 || (v) == 11 || (v) == 12 || (v) == 13 || \
                      (v) == 14 || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

    .text
    .code64
    .balign KEEL_X86_STUB_SIZE
    .globl x86_exception_stubs
x86_exception_stubs:
    .set    vec, 0
    .rept   KEEL_X86_EXCEPTION_VECTORS
    .balign KEEL_X86_STUB_SIZE
    .if     !HAS_ERROR(vec)
    pushq   $0
    .endif
    pushq   $vec
    jmp     exception_common
    .set    vec, vec + 1
    .endr

// The kick interrupt (KEEL_X86_KICK_VECTOR, apic.hpp): taken only in the moment the SVM
// run loop opens for it after a guest exit; it ends the interrupt at the local APIC
// (x2APIC: WRMSR 0x80b; xAPIC: the EOI register at x86_apic_eoi_mmio) and returns.
    .globl x86_kick_stub
x86_kick_stub:
    push    %rax
eoi_and_return:                     // %rax saved by the caller's stub
    push    %rcx
    push    %rdx
    mov     x86_apic_eoi_mmio(%rip), %rax
    test    %rax, %rax
    jz      1f
    movl    $0, (%rax)
    jmp     2f
1:  mov     $0x80b, %ecx
    xor     %eax, %eax
    xor     %edx, %edx
    wrmsr
2:  pop     %rdx
    pop     %rcx
    pop     %rax
    iretq

// Assigned devices' MSIs (KEEL_X86_MSI_VECTORS from KEEL_X86_MSI_VECTOR_FIRST,
// virt/vm_msi.cpp): taken only in the moment the boot core opens for them (msi_next). Each
// stub puts its index in %eax; the common part sets that bit of x86_msi_arrived, ends the
// interrupt at the local APIC as the kick stub does, and returns.
    .balign KEEL_X86_STUB_SIZE
    .globl x86_msi_stubs
x86_msi_stubs:
    .set    vec, 0
    .rept   KEEL_X86_MSI_VECTORS
    .balign KEEL_X86_STUB_SIZE
    push    %rax
    mov     $vec, %eax
    jmp     msi_common
    .set    vec, vec + 1
    .endr

msi_common:
    lock btsq %rax, x86_msi_arrived(%rip)
    jmp     eoi_and_return

// The spurious vector (SDM Vol. 3A 11.9): no EOI.
    .globl x86_spurious_stub
x86_spurious_stub:
    iretq

// Any other vector from 33 on: an interrupt nothing of Keel's asked for (an I/O APIC pin
// firmware left unmasked, say) in the moment the boot core opens for MSIs. Counted in
// x86_stray_interrupts and ended at the local APIC (EOI ends the highest in service: this
// one), instead of stopping the machine.
    .globl x86_stray_stub
x86_stray_stub:
    push    %rax
    lock incl x86_stray_interrupts(%rip)
    jmp     eoi_and_return

exception_common:
    push    %rax
    push    %rbx
    push    %rcx
    push    %rdx
    push    %rsi
    push    %rdi
    push    %rbp
    push    %r8
    push    %r9
    push    %r10
    push    %r11
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    mov     %rsp, %rdi              // ExceptionFrame*
    and     $-16, %rsp              // SysV call alignment
    call    x86_exception           // [[noreturn]]
1:  cli
    hlt
    jmp     1b
