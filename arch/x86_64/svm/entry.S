/* The SVM world switch (AMD APM Vol. 2 15.5 "VMRUN", 15.6 "#VMEXIT", 15.5.2 VMSAVE and
 * VMLOAD).
 *
 *   void svm_run(GuestRegs* regs, u64 vmcb_pa, u64 host_state_pa)
 *
 * VMRUN switches RAX, RSP, RIP, RFLAGS, CR0/3/4, EFER, the segment registers but FS/GS,
 * GDTR/IDTR and the debug registers; the host's are kept in the VM_HSAVE_PA page and come
 * back at #VMEXIT. FS, GS, TR, LDTR, KernelGsBase and the SYSCALL/SYSENTER MSRs are
 * switched by VMSAVE/VMLOAD (RAX = the page), here around VMRUN, with GIF clear so that
 * nothing can interrupt the host while it runs on the guest's copies. The guest's RAX and
 * RSP live in the VMCB; the 14 other GPRs in *regs (struct GuestRegs, virt/guest_regs.hpp,
 * offsets static_asserted there). */
#include "../virt/guest_regs_asm.h"

    .text
    .globl svm_run
    .type svm_run, @function
svm_run:
    push_callee_saved
    push %rdi                      /* 16(%rsp): regs */
    push %rdx                      /*  8(%rsp): host state page */
    push %rsi                      /*  0(%rsp): VMCB */
    clgi
    mov %rdx, %rax
    vmsave                         /* the host's FS, GS, TR, LDTR, syscall MSRs */
    mov (%rsp), %rax
    vmload                         /* the guest's */
    guest_gprs gpr_load, %rdi
    mov R_RDX(%rdi), %rdx
    mov R_RDI(%rdi), %rdi
    sti                            /* held by GIF = 0; in the guest a physical interrupt */
    vmrun                          /* exits (V_INTR_MASKING, INTR intercept: 15.21.1) */
    cli                            /* RAX = VMCB; #VMEXIT continues here, host RSP back */
    push %rdi                      /* guest RDI; VMCB now at 8(%rsp), regs at 24(%rsp) */
    mov 8(%rsp), %rax
    vmsave                         /* the guest's FS, GS, TR, LDTR, syscall MSRs */
    mov 24(%rsp), %rdi
    guest_gprs gpr_save, %rdi
    mov %rdx, R_RDX(%rdi)
    pop %rax
    mov %rax, R_RDI(%rdi)
    mov 8(%rsp), %rax
    vmload                         /* the host's back */
    stgi
    add $24, %rsp
    pop_callee_saved
    ret

    .section .note.GNU-stack, "", @progbits
