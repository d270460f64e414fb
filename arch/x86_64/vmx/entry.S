/* The world switch (SDM Vol. 3C 27 "VM entries", 28.5 "Loading host state").
 *
 *   u32 vmx_run(GuestRegs* regs, u32 launched)
 *     returns 0 after a VM exit (guest GPRs saved into *regs),
 *             1 if VMLAUNCH/VMRESUME failed with VMfailInvalid (CF=1),
 *             2 if it failed with VMfailValid (ZF=1; error number in the VMCS).
 *
 * HOST_RSP is written here, pointing at the saved `regs` pointer, and HOST_RIP is
 * vmx_exit_entry, so a VM exit lands below with the C caller's frame intact and
 * returns from vmx_run as if VMLAUNCH had been a call. RSP/RIP/RFLAGS of the guest
 * live in the VMCS; only the 15 other GPRs are switched by software, except on the
 * fast path below, which answers two exits with RAX, RDX and RDI alone.
 * Offsets: struct GuestRegs in virt/guest_regs.hpp (static_asserted there). */
#include "../virt/guest_regs_asm.h"
#define R_FAST_STOP 120
#define R_FAST_HYPERCALLS 128
#define R_CPUID0 136
#define VMCS_HOST_RSP 0x6c14
#define VMCS_EXIT_REASON 0x4402
#define VMCS_EXIT_INSN_LEN 0x440c
#define VMCS_GUEST_RIP 0x681e
#define EXIT_CPUID 10
#define EXIT_VMCALL 18

/* GUEST_RIP += VM-exit instruction length (25.9.4); clobbers RAX and RDX. */
.macro advance_rip
    mov $VMCS_GUEST_RIP, %eax
    vmread %rax, %rdx
    mov $VMCS_EXIT_INSN_LEN, %eax
    vmread %rax, %rax
    add %rax, %rdx
    mov $VMCS_GUEST_RIP, %eax
    vmwrite %rdx, %rax
.endm

    .text
    .globl vmx_run
    .type vmx_run, @function
vmx_run:
    push_callee_saved
    push %rdi                      /* regs, found again by vmx_exit_entry at 0(%rsp) */
    mov $VMCS_HOST_RSP, %eax
    vmwrite %rsp, %rax
    test %esi, %esi                /* flags survive the MOVs below */
    mov R_RAX(%rdi), %rax
    mov R_RDX(%rdi), %rdx
    guest_gprs gpr_load, %rdi
    mov R_RDI(%rdi), %rdi
    jnz 1f
    vmlaunch
    jmp 2f
1:  vmresume
2:  /* Only reached on failure: CF or ZF tells which. MOV keeps the flags. */
    mov $2, %eax
    jnc 3f
    mov $1, %eax
3:  add $8, %rsp
    jmp .Lrestore_host

    /* The fast path (issue 15; docs/performance.md, x86): a VMCALL Null (EAX 0) and a
     * CPUID leaf 0 are answered here, with only RAX, RDX and RDI saved, no C code and
     * no lock, while the VM's stop flag is clear (a set flag sends every exit through
     * the general path, which ends the vCPU: a guest cannot hide from a stop behind
     * fast exits). The answers are the general path's: Null returns 0 and counts the
     * hypercall (VmStats::hypercalls, LOCK INC as stat_inc); CPUID leaf 0 comes from
     * GuestRegs.cpuid0, which fast_path_setup filled with the general path's filter.
     * Every other exit, or registers without fast_stop, goes on at .Lslow. */
    .globl vmx_exit_entry
    .type vmx_exit_entry, @function
vmx_exit_entry:
    push %rdi                      /* guest RDI; the regs pointer is now at 8(%rsp) */
    mov 8(%rsp), %rdi
    mov %rax, R_RAX(%rdi)
    mov %rdx, R_RDX(%rdi)
    mov R_FAST_STOP(%rdi), %rdx
    test %rdx, %rdx
    jz .Lslow
    cmpl $0, (%rdx)
    jne .Lslow
    mov $VMCS_EXIT_REASON, %eax
    vmread %rax, %rax
    cmp $EXIT_VMCALL, %rax         /* the whole field: entry-failure bit 31 etc. clear */
    je .Lvmcall
    cmp $EXIT_CPUID, %rax
    jne .Lslow
    cmpl $0, R_RAX(%rdi)           /* leaf 0 (EAX; leaf 0 has no subleaves) */
    jne .Lslow
    advance_rip
    mov R_CPUID0(%rdi), %eax       /* 32-bit moves clear the upper halves, as CPUID does */
    mov R_CPUID0+4(%rdi), %ebx
    mov R_CPUID0+8(%rdi), %ecx
    mov R_CPUID0+12(%rdi), %edx
    pop %rdi
    vmresume
    jmp 2b                         /* failed: vmx_run's failure exit (same stack) */
.Lvmcall:
    cmpl $0, R_RAX(%rdi)           /* Hypercall::Null */
    jne .Lslow
    mov R_FAST_HYPERCALLS(%rdi), %rax
    lock incl (%rax)
    advance_rip
    xor %eax, %eax                 /* RAX = 0: done */
    mov R_RDX(%rdi), %rdx
    pop %rdi
    vmresume
    jmp 2b
.Lslow:                            /* RAX and RDX are saved already */
    guest_gprs gpr_save, %rdi
    pop %rax
    mov %rax, R_RDI(%rdi)
    add $8, %rsp
    xor %eax, %eax
.Lrestore_host:
    pop_callee_saved
    ret

    .section .note.GNU-stack, "", @progbits
