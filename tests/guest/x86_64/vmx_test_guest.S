/* The first VT-x test guest: 16-bit real mode, loaded at guest-physical 0x1000 with
 * CS=DS=SS=0 (arch/x86_64/vmx/test_vm.cpp). It is assembled into the hypervisor image
 * as data (.rodata) and copied into guest RAM, so every absolute address is written
 * G(label): the label's offset from the start, plus the load address.
 * It talks only through COM1 (port 0x3f8), CPUID, VMCALL and RDMSR, all of which exit. */
#define G(x) ((x) - keel_guest_start + 0x1000)
#define PUTS(msg) mov $G(msg), %si; call puts

    .section .rodata.keel_guest, "a"
    .code16
    .globl keel_guest_start, keel_guest_end
keel_guest_start:
    cli
    xor %ax, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $0x8000, %sp
    /* IVT entry 13 (#GP) -> gp_handler: offset, then segment (SDM Vol. 3A 21.1.4). */
    movw $G(gp_handler), (13 * 4)
    movw $0, (13 * 4 + 2)
    PUTS(msg_hello)

    xor %eax, %eax               /* CPUID 0: vendor in EBX, EDX, ECX */
    cpuid
    push %ecx
    push %edx
    push %ebx
    PUTS(msg_vendor)
    pop %eax
    call put4
    pop %eax
    call put4
    pop %eax
    call put4
    call newline

    mov $1, %eax                 /* CPUID 1: VMX (ECX bit 5), hypervisor (ECX bit 31) */
    cpuid
    mov %ecx, %edi
    PUTS(msg_vmx)
    mov %edi, %eax
    shr $5, %eax
    and $1, %al
    add $'0', %al
    call putc
    PUTS(msg_hv)
    mov %edi, %eax
    shr $31, %eax
    add $'0', %al
    call putc
    call newline

    mov $0x40000000, %eax        /* hypervisor vendor leaf: EBX, ECX, EDX */
    cpuid
    push %edx
    push %ecx
    push %ebx
    PUTS(msg_sig)
    pop %eax
    call put4
    pop %eax
    call put4
    pop %eax
    call put4
    call newline

    mov $1, %eax                 /* hypercall 1 (echo): EAX = EBX + 1 */
    mov $0x41, %ebx
    vmcall
    cmp $0x42, %eax
    jne 1f
    PUTS(msg_vmcall_ok)
    jmp 2f
1:  PUTS(msg_vmcall_bad)
2:
    mov $0x277, %ecx             /* IA32_PAT: allowed */
    rdmsr
    cmp $0x00070406, %eax
    jne 3f
    cmp $0x00070406, %edx
    jne 3f
    PUTS(msg_pat_ok)
    jmp 4f
3:  PUTS(msg_pat_bad)
4:
    movb $0, G(gp_seen)
    mov $0x480, %ecx             /* IA32_VMX_BASIC: forbidden -> #GP */
    rdmsr
    cmpb $1, G(gp_seen)
    jne 5f
    PUTS(msg_gp_ok)
    jmp 6f
5:  PUTS(msg_gp_bad)
6:
    PUTS(msg_done)
    hlt
    jmp 6b

/* #GP: skip the 2-byte RDMSR (0f 32) by bumping the saved IP (frame: IP, CS, FLAGS). */
gp_handler:
    push %bp
    mov %sp, %bp
    addw $2, 2(%bp)
    movb $1, G(gp_seen)
    pop %bp
    iret

putc:                            /* AL -> COM1 */
    mov $0x3f8, %dx
    out %al, %dx
    ret
put4:                            /* the 4 bytes of EAX, low first */
    mov $4, %cx
7:  call putc
    shr $8, %eax
    loop 7b
    ret
puts:                            /* NUL-terminated string at DS:SI */
    lodsb
    test %al, %al
    jz 8f
    call putc
    jmp puts
8:  ret
newline:
    mov $'\n', %al
    jmp putc

gp_seen:        .byte 0
msg_hello:      .asciz "hello from a real-mode guest under VT-x\n"
msg_vendor:     .asciz "cpuid 0 vendor "
msg_vmx:        .asciz "cpuid 1 vmx="
msg_hv:         .asciz " hypervisor="
msg_sig:        .asciz "cpuid 0x40000000 signature "
msg_vmcall_ok:  .asciz "vmcall echo 0x41 -> 0x42 ok\n"
msg_vmcall_bad: .asciz "vmcall echo returned a wrong value\n"
msg_pat_ok:     .asciz "rdmsr IA32_PAT = 0x0007040600070406 ok\n"
msg_pat_bad:    .asciz "rdmsr IA32_PAT returned a wrong value\n"
msg_gp_ok:      .asciz "rdmsr IA32_VMX_BASIC -> #GP caught by the guest IVT\n"
msg_gp_bad:     .asciz "rdmsr IA32_VMX_BASIC did not fault\n"
msg_done:       .asciz "done, halting\n"
keel_guest_end:
    .code64

    .section .note.GNU-stack, "", @progbits
