// World switch between EL2 and a guest at EL1 (ARM ARM D1.10 exception entry/return).
// Only general registers move: the EL1 system registers and FP state stay live on the
// guest's own core (vcpu.hpp). tpidr_el2 holds this core's PerCpu while the hypervisor
// runs and the VcpuContext while the guest runs; the exit path restores it.

#include "smp_offsets.h"

    .text
// u64 arm64_vcpu_run(VcpuContext* ctx)
    .globl arm64_vcpu_run
arm64_vcpu_run:
    stp     x29, x30, [sp, #-112]!
    stp     x19, x20, [sp, #16]
    stp     x21, x22, [sp, #32]
    stp     x23, x24, [sp, #48]
    stp     x25, x26, [sp, #64]
    stp     x27, x28, [sp, #80]
    mrs     x1, tpidr_el2
    str     x1, [sp, #96]            // PerCpu, back into tpidr_el2 on exit
    mov     x1, sp
    str     x1, [x0, #CTX_HOST_SP]
    msr     tpidr_el2, x0
    ldp     x1, x2, [x0, #CTX_PC]
    msr     elr_el2, x1
    msr     spsr_el2, x2
    ldp     x2, x3, [x0, #16 * 1]
    ldp     x4, x5, [x0, #16 * 2]
    ldp     x6, x7, [x0, #16 * 3]
    ldp     x8, x9, [x0, #16 * 4]
    ldp     x10, x11, [x0, #16 * 5]
    ldp     x12, x13, [x0, #16 * 6]
    ldp     x14, x15, [x0, #16 * 7]
    ldp     x16, x17, [x0, #16 * 8]
    ldp     x18, x19, [x0, #16 * 9]
    ldp     x20, x21, [x0, #16 * 10]
    ldp     x22, x23, [x0, #16 * 11]
    ldp     x24, x25, [x0, #16 * 12]
    ldp     x26, x27, [x0, #16 * 13]
    ldp     x28, x29, [x0, #16 * 14]
    ldr     x30, [x0, #8 * 30]
    ldp     x0, x1, [x0, #16 * 0]
    eret
    dsb     nsh                      // no speculation past the ERET
    isb

// Common exit path: the guest's x0/x1 are on the EL2 stack, x1 = vector index.
guest_exit:
    mrs     x0, tpidr_el2
    str     x1, [x0, #CTX_EXIT_VECTOR]
    stp     x2, x3, [x0, #16 * 1]
    stp     x4, x5, [x0, #16 * 2]
    stp     x6, x7, [x0, #16 * 3]
    stp     x8, x9, [x0, #16 * 4]
    stp     x10, x11, [x0, #16 * 5]
    stp     x12, x13, [x0, #16 * 6]
    stp     x14, x15, [x0, #16 * 7]
    stp     x16, x17, [x0, #16 * 8]
    stp     x18, x19, [x0, #16 * 9]
    stp     x20, x21, [x0, #16 * 10]
    stp     x22, x23, [x0, #16 * 11]
    stp     x24, x25, [x0, #16 * 12]
    stp     x26, x27, [x0, #16 * 13]
    stp     x28, x29, [x0, #16 * 14]
    str     x30, [x0, #8 * 30]
    ldp     x2, x3, [sp], #16
    stp     x2, x3, [x0, #16 * 0]
    mrs     x1, elr_el2
    mrs     x2, spsr_el2
    stp     x1, x2, [x0, #CTX_PC]
    mrs     x1, esr_el2
    mrs     x2, far_el2
    stp     x1, x2, [x0, #CTX_ESR]
    mrs     x1, hpfar_el2
    str     x1, [x0, #CTX_HPFAR]
    ldr     x1, [x0, #CTX_HOST_SP]
    mov     sp, x1
    ldr     x1, [sp, #96]
    msr     tpidr_el2, x1
    ldr     x0, [x0, #CTX_EXIT_VECTOR]
    ldp     x19, x20, [sp, #16]
    ldp     x21, x22, [sp, #32]
    ldp     x23, x24, [sp, #48]
    ldp     x25, x26, [sp, #64]
    ldp     x27, x28, [sp, #80]
    ldp     x29, x30, [sp], #112
    ret

// The hypercall fast path, before any exit decoding (docs/performance.md): an HVC (EC
// 0x16, ESR_EL2 D17.2.37) with x0 = PSCI_VERSION (0x84000000, DEN 0022) or Keel's null
// call (0xc6000000) is answered here, from the guest's exception straight back to it:
// x0 gets the result, the VM's hypercall counter is bumped (LDXR/STXR: no LSE assumed), and
// nothing else is touched (x1-x3 are restored, ELR_EL2 already points past the HVC). No lock,
// no vGIC flush: anything pending for this vCPU was signalled by a physical SGI, masked at
// EL2, which exits the guest again right after the ERET. Everything else takes guest_exit.
// On entry: the guest's x0, x1 on the EL2 stack, x0 still the guest's.
guest_sync:
    mrs     x1, esr_el2
    lsr     x1, x1, #26
    cmp     x1, #0x16
    b.ne    2f
    movz    x1, #0x8400, lsl #16
    cmp     x0, x1
    b.eq    1f
    movz    x1, #0xc600, lsl #16
    cmp     x0, x1
    b.ne    2f
    mov     x0, #0                  // null call: success
    b       3f
1:  movz    x0, #0x1, lsl #16       // PSCI 1.1
    movk    x0, #0x1
3:  stp     x2, x3, [sp, #-16]!
    mrs     x1, tpidr_el2           // the VcpuContext while the guest runs
    ldr     x1, [x1, #CTX_STATS]
    add     x1, x1, #VMSTATS_HYPERCALLS
4:  ldxr    w2, [x1]
    add     w2, w2, #1
    stxr    w3, w2, [x1]
    cbnz    w3, 4b
    ldp     x2, x3, [sp], #16
    ldr     x1, [sp, #8]
    add     sp, sp, #16
    eret
    dsb     nsh                     // no speculation past the ERET
    isb
2:  mov     x1, #8
    b       guest_exit

// EL2 vector table used once cores run guests (D1.10.2). Exceptions taken at EL2
// itself (entries 0-7) go to the reporting vectors in vectors.S; exceptions from the
// guest (8-15) leave the guest through guest_exit; synchronous ones (8) try the
// hypercall fast path first.
.macro to_report index
    .balign 0x80
    b       el2_vectors + 0x80 * \index
.endm
.macro from_guest index
    .balign 0x80
    stp     x0, x1, [sp, #-16]!
    mov     x1, #\index
    b       guest_exit
.endm

    .section .text.vectors, "ax"
    .balign 0x800
    .globl el2_guest_vectors
el2_guest_vectors:
    to_report 0
    to_report 1
    to_report 2
    to_report 3
    to_report 4
    to_report 5
    to_report 6
    to_report 7
    .balign 0x80
    stp     x0, x1, [sp, #-16]!     // 8: lower EL, AArch64, synchronous
    b       guest_sync
    from_guest 9
    from_guest 10
    from_guest 11
    from_guest 12
    from_guest 13
    from_guest 14
    from_guest 15
