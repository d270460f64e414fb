/* Entry of the x86_64 test guest: 64-bit mode, paging on (Keel's identity tables),
 * interrupts off, RDI = VM id, RSI = RAM base, RDX = RAM size, RCX = mode. It loads its
 * own GDT (the IDT is filled in C), a stack, and calls guest_main(id, base, size, mode). */
    .section .text.start, "ax"
    .globl _start
_start:
    lgdt    gdt_ptr(%rip)
    lea     1f(%rip), %rax
    pushq   $0x08
    pushq   %rax
    lretq
1:  mov     $0x10, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    lea     stack_top(%rip), %rsp
    call    guest_main
    mov     $3, %eax                /* Keel hypercall 3: power off */
    vmcall
2:  cli
    hlt
    jmp     2b

/* #GP (error code pushed): skip the faulting instruction by g_fault_skip bytes. */
    .globl gp_stub, timer_stub, unexpected_stub
gp_stub:
    push    %rax
    mov     g_fault_skip(%rip), %rax
    add     %rax, 16(%rsp)          /* [rsp] rax, [rsp+8] error code, [rsp+16] RIP */
    incl    g_gp_count(%rip)
    pop     %rax
    add     $8, %rsp
    iretq
timer_stub:
    incl    g_ticks(%rip)
    iretq
unexpected_stub:
    mov     %rsp, %rdi
    call    guest_unexpected        /* does not return */

    .section .rodata
    .balign 16
gdt:
    .quad   0
    .quad   0x00af9b000000ffff      /* 0x08: 64-bit code */
    .quad   0x00cf93000000ffff      /* 0x10: data */
gdt_end:
gdt_ptr:
    .short  gdt_end - gdt - 1
    .quad   gdt

    .bss
    .balign 16
    .space  16384
stack_top:

    .section .note.GNU-stack, "", @progbits
