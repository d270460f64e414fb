// Entering the incoming image and coming back from it (docs/handover.md §4 step 3, §5.1).
//
// keel_x86_handover_call(entry, record, flat_cr3, save, doorbell) -> u64, on the boot core
// with every vCPU parked, and on each other core as it visits (docs/handover.md §4.5): saves what the outgoing image needs to go on (callee-saved registers, RFLAGS,
// CR3, GDTR, IDTR, RSP) in `save` (13 words), masks interrupts, switches to `flat_cr3` (an
// identity map of the low 4 GiB, writable and executable, built in the update region: the
// outgoing image's own tables map the run slot NX) and jumps to the placed image's entry with
//   RDI = the record (a visiting core: the doorbell), RSI = where to hand back
//   (keel_x86_handover_return), RDX = `save` (a cookie the image hands back), RCX = flat_cr3,
//   R8 = the doorbell (passed through untouched).
// The incoming image runs on that map and on the outgoing image's GDT and IDT, which it does
// not change before it stays. It hands back with keel_x86_handover_back: RDI = the hand-back
// code (update::encode_hand_back), RSI = the cookie; this entry restores everything saved and
// returns the code from keel_x86_handover_call.

#define SAVE_RBX 0
#define SAVE_RBP 8
#define SAVE_R12 16
#define SAVE_R13 24
#define SAVE_R14 32
#define SAVE_R15 40
#define SAVE_RFLAGS 48
#define SAVE_CR3 56
#define SAVE_GDTR 64 /* 10 bytes */
#define SAVE_IDTR 80 /* 10 bytes */
#define SAVE_RSP 96

    .text
    .code64
    .globl keel_x86_handover_call
    .type keel_x86_handover_call, @function
keel_x86_handover_call:
    mov     %rbx, SAVE_RBX(%rcx)
    mov     %rbp, SAVE_RBP(%rcx)
    mov     %r12, SAVE_R12(%rcx)
    mov     %r13, SAVE_R13(%rcx)
    mov     %r14, SAVE_R14(%rcx)
    mov     %r15, SAVE_R15(%rcx)
    pushfq
    pop     %rax
    mov     %rax, SAVE_RFLAGS(%rcx)
    mov     %cr3, %rax
    mov     %rax, SAVE_CR3(%rcx)
    sgdt    SAVE_GDTR(%rcx)
    sidt    SAVE_IDTR(%rcx)
    mov     %rsp, SAVE_RSP(%rcx)
    cli
    mov     %rdx, %cr3              // serializing: the placed bytes are fetched afresh
    mov     %rdi, %rax              // the entry
    mov     %rsi, %rdi              // RDI = the record
    lea     keel_x86_handover_return(%rip), %rsi
    xchg    %rdx, %rcx              // RDX = save, RCX = flat_cr3
    jmp     *%rax
    .size keel_x86_handover_call, . - keel_x86_handover_call

    // RDI = the hand-back code, RSI = the save area; on the flat map, interrupts masked.
    .type keel_x86_handover_return, @function
keel_x86_handover_return:
    mov     SAVE_CR3(%rsi), %rax
    mov     %rax, %cr3              // the outgoing image's own tables (flushes the flat map)
    lgdt    SAVE_GDTR(%rsi)
    lidt    SAVE_IDTR(%rsi)
    mov     SAVE_RSP(%rsi), %rsp
    mov     SAVE_RBX(%rsi), %rbx
    mov     SAVE_RBP(%rsi), %rbp
    mov     SAVE_R12(%rsi), %r12
    mov     SAVE_R13(%rsi), %r13
    mov     SAVE_R14(%rsi), %r14
    mov     SAVE_R15(%rsi), %r15
    mov     %rdi, %rax
    push    SAVE_RFLAGS(%rsi)
    popfq                           // interrupts as they were
    ret
    .size keel_x86_handover_return, . - keel_x86_handover_return

    // keel_x86_handover_back(code, back, cookie): the incoming image gives control back.
    .globl keel_x86_handover_back
    .type keel_x86_handover_back, @function
keel_x86_handover_back:
    cli
    mov     %rsi, %rax
    mov     %rdx, %rsi
    jmp     *%rax
    .size keel_x86_handover_back, . - keel_x86_handover_back

    .section .note.GNU-stack, "", @progbits
