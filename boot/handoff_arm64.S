// keel_boot_handoff_arm64(BootInfo* x0, u64 entry x1): leave UEFI's EL2 state for the
// one the direct-boot path gets from QEMU (MMU and caches off, HCR_EL2 = 0) and jump to
// the hypervisor with x0 = BootInfo*. UEFI identity-maps memory, so this code keeps
// running at the same address when the MMU goes off. The ranges the hypervisor reads
// were cleaned to PoC before ExitBootServices (arch_arm64.cpp).
    .text
    .globl keel_boot_handoff_arm64
    .p2align 4
keel_boot_handoff_arm64:
    msr     daifset, #0xf
    mov     x19, x0
    mov     x20, x1
    mrs     x2, sctlr_el2
    bic     x2, x2, #(1 << 0)       // M: MMU off
    bic     x2, x2, #(1 << 2)       // C: data cache off
    bic     x2, x2, #(1 << 12)      // I: instruction cache off
    dsb     sy
    msr     sctlr_el2, x2
    isb
    ic      iallu                   // no stale instructions at the new image's addresses
    tlbi    alle2
    dsb     sy
    isb
    msr     hcr_el2, xzr            // as at reset: no VHE, no TGE
    isb
    mov     x0, x19
    mov     x1, xzr
    mov     x2, xzr
    mov     x3, xzr
    br      x20
