/* x87, SSE, AVX and AVX-512 state to its reset value before a vCPU's first entry, so
 * nothing of the core's previous VM can be read (docs/vm-lifecycle.md "Reset state").
 * The hypervisor itself never uses these registers (-mno-sse -mno-80387); only this file
 * touches them.
 *
 * void x86_fp_reset(const void* area, u64 mask, u32 use_xsave)
 *   XSAVE: XCR0 = mask, XRSTOR of an area whose XSTATE_BV is 0 (every component in mask
 *   to its initial configuration: x87 FCW 0x037f with an empty stack, XMM/YMM/ZMM/opmask
 *   zero; MXCSR from the area, 0x1f80; SDM Vol. 1 13.8.1), then XCR0 back to x87 only
 *   (the guest's XSETBV sets its own). Otherwise FNINIT and FXRSTOR of a zeroed area
 *   (XMM zero, MXCSR 0x1f80). */
    .text
    .globl x86_fp_reset
x86_fp_reset:
    test    %edx, %edx
    jz      1f
    mov     %rsi, %rax
    mov     %rsi, %rdx
    shr     $32, %rdx
    xor     %ecx, %ecx
    xsetbv
    mov     %rsi, %rax
    mov     %rsi, %rdx
    shr     $32, %rdx
    xrstor64 (%rdi)
    mov     $1, %eax
    xor     %edx, %edx
    xor     %ecx, %ecx
    xsetbv
    ret
1:  fninit
    fxrstor64 (%rdi)
    ret
    .section .note.GNU-stack, "", @progbits
