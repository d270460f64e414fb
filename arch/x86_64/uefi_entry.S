// x86_64 entry from the UEFI boot stage (boot/handoff_x86_64.S, docs/boot-info.md):
// 64-bit long mode on UEFI's identity-mapped page tables, interrupts off, UEFI's GDT
// and stack, rdi = BootInfo* (in loader data, outside the image). We take our own
// stack, zero .bss (the BootInfo lies outside [__image_start, __image_end), so it
// survives), turn on EFER.NXE when the CPU has NX (paging.cpp's W^X needs it) and
// call x86_uefi_boot_main(BootInfo*), which copies the BootInfo into the image while
// UEFI's identity map still covers it, then switches to the hypervisor's own tables.

// SDM Vol. 2A CPUID 0x80000001:EDX[20] (NX); Vol. 3A 2.2.1 (EFER).
#define MSR_EFER 0xc0000080
#define EFER_NXE_BIT 11
#define CPUID_NX_BIT 20

    // Kept by linker.ld: nothing in the image references this entry (--gc-sections).
    .section .text.uefi_entry, "ax"
    .code64
    .globl keel_uefi_entry
    .type keel_uefi_entry, @function
    .p2align 4
keel_uefi_entry:
    cli
    cld
    mov     %rdi, %r12              // BootInfo* (cpuid/rdmsr/stos clobber the rest)
    lea     boot_stack_top(%rip), %rsp

    // Zero .bss (our stack, page tables and the BootInfo copy live there).
    lea     __bss_start(%rip), %rdi
    lea     __bss_end(%rip), %rcx
    sub     %rdi, %rcx
    xor     %eax, %eax
    rep stosb

    // EFER.NXE when the CPU has NX (firmware usually set it already).
    mov     $0x80000000, %eax
    cpuid
    cmp     $0x80000001, %eax
    jb      1f
    mov     $0x80000001, %eax
    cpuid
    bt      $CPUID_NX_BIT, %edx
    jnc     1f
    mov     $MSR_EFER, %ecx
    rdmsr
    bts     $EFER_NXE_BIT, %eax
    wrmsr
1:
    mov     %r12, %rdi              // x86_uefi_boot_main(BootInfo*)
    xor     %ebp, %ebp              // end of frame-pointer chain
    call    x86_uefi_boot_main
2:  cli
    hlt
    jmp     2b
    .size keel_uefi_entry, . - keel_uefi_entry
