// keel_boot_handoff_x86_64(BootInfo* rcx, u64 entry rdx) (Microsoft x64 convention, as
// UEFI calls use): interrupts off, then jump to the hypervisor's 64-bit UEFI entry with
// rdi = BootInfo* (System V, as the hypervisor's C++ expects). Paging stays as UEFI set
// it (identity map); the hypervisor loads its own page tables, GDT and IDT.
    .text
    .globl keel_boot_handoff_x86_64
    .p2align 4
keel_boot_handoff_x86_64:
    cli
    cld
    mov     %rcx, %rdi
    xor     %esi, %esi
    jmp     *%rdx
