// clang-format off
// Assembly only (vmx/entry.S, svm/entry.S).
/* The offsets of struct GuestRegs (guest_regs.hpp, static_asserted there) and the moves
 * both world switches make between the registers and *base: every GPR but RAX, RDX, RSP
 * and RDI, which each switch handles itself (VMX keeps RSP in the VMCS; SVM keeps RAX and
 * RSP in the VMCB; RDI holds the base until last; VMX's fast path saves RDX first). */
#pragma once

#define R_RAX 0
#define R_RBX 8
#define R_RCX 16
#define R_RDX 24
#define R_RSI 32
#define R_RDI 40
#define R_RBP 48
#define R_R8 56
#define R_R9 64
#define R_R10 72
#define R_R11 80
#define R_R12 88
#define R_R13 96
#define R_R14 104
#define R_R15 112

.macro guest_gprs op, base
    \op R_RBX, %rbx, \base
    \op R_RCX, %rcx, \base
    \op R_RSI, %rsi, \base
    \op R_RBP, %rbp, \base
    \op R_R8, %r8, \base
    \op R_R9, %r9, \base
    \op R_R10, %r10, \base
    \op R_R11, %r11, \base
    \op R_R12, %r12, \base
    \op R_R13, %r13, \base
    \op R_R14, %r14, \base
    \op R_R15, %r15, \base
.endm
.macro gpr_load off, reg, base
    mov \off(\base), \reg
.endm
.macro gpr_save off, reg, base
    mov \reg, \off(\base)
.endm
/* The host's callee-saved registers (SysV ABI) around a world switch. */
.macro push_callee_saved
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
.endm
.macro pop_callee_saved
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
.endm
