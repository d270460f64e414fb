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
// "KEELHND1": docs/handover.md §2.1 (update::kHandoverMagic).
#define HANDOVER_MAGIC 0x31444e484c45454b

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
    // Or a live update's handover record (docs/handover.md §5.1, handover_jump.S): it starts
    // with its magic, a BootInfo with another. RSI, RDX, RCX, R8 (where to hand back, the
    // cookie, the flat map, the doorbell) are kept for x86_handover_main; R11 survives every
    // instruction below and keel_self_relocate.
    xor     %r15d, %r15d            // 0: a boot
    test    $7, %dil
    jnz     0f
    test    %rdi, %rdi
    jz      0f
    movabs  $HANDOVER_MAGIC, %rax
    cmp     %rax, (%rdi)
    jne     0f
    mov     %rsi, %r13
    mov     %rdx, %r14
    mov     %rcx, %r15
    mov     %r8, %r11
0:  lea     boot_stack_top(%rip), %rsp

    // Zero .bss (our stack, page tables and the BootInfo copy live there), in 8-byte words
    // (linker.ld aligns both ends): a live update's incoming image does this inside the
    // blackout, and an emulator counts each repetition as an instruction.
    lea     __bss_start(%rip), %rdi
    lea     __bss_end(%rip), %rcx
    sub     %rdi, %rcx
    shr     $3, %rcx
    xor     %eax, %eax
    rep stosq
    // The pristine copy, as start.S makes it (docs/handover.md §4.7): .dynamic to .bss as
    // loaded (or as a rollback put them back), before relocation writes any of it.
    lea     __rodata_end(%rip), %rsi
    lea     __pristine_copy(%rip), %rdi
    lea     __bss_start(%rip), %rcx
    sub     %rsi, %rcx
    shr     $3, %rcx
    rep movsq
    call    keel_self_relocate      // loaded where linked: nothing to do (relocate.S)

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
    xor     %ebp, %ebp              // end of frame-pointer chain
    mov     %r12, %rdi
    test    %r15, %r15
    jz      3f
    mov     %r13, %rsi              // x86_handover_main(record, back, cookie, flat, doorbell)
    mov     %r14, %rdx
    mov     %r15, %rcx
    mov     %r11, %r8
    call    x86_handover_main
3:  call    x86_uefi_boot_main      // x86_uefi_boot_main(BootInfo*)
2:  cli
    hlt
    jmp     2b
    .size keel_uefi_entry, . - keel_uefi_entry
