/* Register state a VM can read, for the "no state crosses VMs" test (issue 10 item 1):
 * regs_fill writes distinctive values into XMM0-15, MXCSR, the x87 stack and control
 * word, and DR0-DR3; regs_read stores them for the next VM on the same core to compare
 * with the reset values (guest.c). The caller turns on CR4.OSFXSR first.
 *
 * regs_read(uint64_t out[40]): [0..31] XMM0..XMM15 (low, high); [32] MXCSR; [33] x87
 * FCW; [34] FSW; [35] abridged FTW (FXSAVE); [36..39] DR0..DR3. */
    .text
    .globl regs_fill, regs_read
regs_fill:                         /* rdi = pattern */
    movq    %rdi, %xmm0
    punpcklqdq %xmm0, %xmm0
    .irp n, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    movdqa  %xmm0, %xmm\n
    .endr
    sub     $8, %rsp
    movl    $0x9fc0, (%rsp)        /* MXCSR: FZ, RC = toward zero, every exception masked */
    ldmxcsr (%rsp)
    movw    $0x0c7f, (%rsp)        /* FCW: round toward zero, 64-bit precision */
    fldcw   (%rsp)
    fldpi
    fld1                           /* two x87 registers in use: FSW.TOP and FTW change */
    add     $8, %rsp
    mov     %rdi, %dr0
    mov     %rdi, %dr1
    mov     %rdi, %dr2
    mov     %rdi, %dr3
    ret

regs_read:                         /* rdi = out */
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    movdqu  %xmm\n, (\n * 16)(%rdi)
    .endr
    lea     fx_area(%rip), %rsi
    fxsave64 (%rsi)
    movzwl  (%rsi), %eax           /* FCW */
    mov     %rax, (33 * 8)(%rdi)
    movzwl  2(%rsi), %eax          /* FSW */
    mov     %rax, (34 * 8)(%rdi)
    movzbl  4(%rsi), %eax          /* abridged FTW */
    mov     %rax, (35 * 8)(%rdi)
    movl    24(%rsi), %eax         /* MXCSR */
    mov     %rax, (32 * 8)(%rdi)
    mov     %dr0, %rax
    mov     %rax, (36 * 8)(%rdi)
    mov     %dr1, %rax
    mov     %rax, (37 * 8)(%rdi)
    mov     %dr2, %rax
    mov     %rax, (38 * 8)(%rdi)
    mov     %dr3, %rax
    mov     %rax, (39 * 8)(%rdi)
    ret

    .bss
    .balign 16
fx_area:
    .skip   512
    .section .note.GNU-stack, "", @progbits
