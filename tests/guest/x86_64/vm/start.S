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
    call    guest_power_off         /* Keel hypercall 3 (VMCALL or VMMCALL) */
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

/* The APIC suite's vectors (apic.c): the caller-saved registers around a C handler. The
 * CPU aligned RSP to 16 before pushing its 5-word frame (SDM Vol. 3A 6.14.2); 9 pushes
 * then leave the call with the ABI's alignment. */
    .macro  save_call fn, arg
    push    %rax
    push    %rcx
    push    %rdx
    push    %rsi
    push    %rdi
    push    %r8
    push    %r9
    push    %r10
    push    %r11
    mov     \arg, %edi
    call    \fn
    pop     %r11
    pop     %r10
    pop     %r9
    pop     %r8
    pop     %rdi
    pop     %rsi
    pop     %rdx
    pop     %rcx
    pop     %rax
    iretq
    .endm
    .globl apic_stub_30, apic_stub_31, apic_stub_32, apic_stub_33, nmi_stub
apic_stub_30:
    save_call apic_irq, $0x30
apic_stub_31:
    save_call apic_irq, $0x31
apic_stub_32:
    save_call apic_irq, $0x32
apic_stub_33:
    save_call apic_irq, $0x33
nmi_stub:
    save_call apic_nmi, $2

/* AP start (SIPI vector = this page's offset in RAM >> 12; Keel aliases GPA 0-2 MiB to
 * the start of RAM): real mode at vector:0000 -> protected mode (flat, paging off) ->
 * a 32-bit jump up to this code's linked address -> PAE, the BSP's CR3 (g_ap_cr3),
 * EFER.LME, paging -> 64-bit -> ap_main() on g_ap_stack (SDM Vol. 3A 10.8.5). */
    .section .text.ap, "ax"
    .balign 4096
    .globl ap_trampoline
    .code16
ap_trampoline:
    cli
    xor     %eax, %eax              /* a CPUID exit in real mode, from the low alias: the */
    cpuid                           /* hypervisor must find it there (SVM decodes it) */
    mov     %cs, %ax
    mov     %ax, %ds
    lgdtl   ap_gdt_ptr - ap_trampoline
    mov     %cr0, %eax
    or      $1, %eax                /* PE */
    mov     %eax, %cr0
    ljmpl   $0x18, $ap_pm32
    .balign 8
ap_gdt_ptr:
    .short  gdt_end - gdt - 1
    .long   gdt
    .code32
ap_pm32:
    mov     $0x10, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    mov     %cr4, %eax
    or      $0x20, %eax             /* PAE */
    mov     %eax, %cr4
    mov     g_ap_cr3, %eax
    mov     %eax, %cr3
    mov     $0xc0000080, %ecx       /* IA32_EFER.LME (Keel allows it while paging is off) */
    rdmsr
    or      $0x100, %eax
    wrmsr
    mov     %cr0, %eax
    or      $0x80000000, %eax       /* PG: IA-32e mode active */
    mov     %eax, %cr0
    ljmp    $0x08, $ap_lm64
    .code64
ap_lm64:
    mov     $0x10, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    mov     g_ap_stack(%rip), %rsp
    call    ap_main                 /* does not return */
3:  cli
    hlt
    jmp     3b

    .section .rodata
    .balign 16
gdt:
    .quad   0
    .quad   0x00af9b000000ffff      /* 0x08: 64-bit code */
    .quad   0x00cf93000000ffff      /* 0x10: data */
    .quad   0x00cf9b000000ffff      /* 0x18: 32-bit code (AP start) */
gdt_end:
gdt_ptr:
    .short  gdt_end - gdt - 1
    .quad   gdt

    .bss
    .balign 16
    .space  16384
stack_top:

    .section .note.GNU-stack, "", @progbits
