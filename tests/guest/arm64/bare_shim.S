// Runs the arm64 test guest on bare QEMU virt (EL1, no hypervisor) so that the emulator
// tests can compare what Keel gives a guest with what the bare machine gives it
// (tests/emu/bare_reference.py). QEMU puts its DTB at the base of RAM, where the guest
// is linked, so the guest is loaded at 0x40200000 and this shim (at 0x40300000) zeroes
// the first MiB, copies 64 KiB of guest down and enters it with the raw-guest registers
// Keel sets: x0 = 1 (VM id), x1 = 0x40000000 (RAM base), x2 = 4 MiB (RAM size), x3 = the
// mode QEMU's loader left at 0x40310000, x4 = 0 (no boot tick).
    .text
    .globl _start
_start:
    mov     x9, #0x40000000
    mov     x10, #0x100000
1:  str     xzr, [x9], #8
    subs    x10, x10, #8
    b.ne    1b
    mov     x9, #0x40000000
    mov     x11, #0x40200000
    mov     x10, #0x10000
2:  ldr     x12, [x11], #8
    str     x12, [x9], #8
    subs    x10, x10, #8
    b.ne    2b
    dsb     sy
    ic      iallu
    dsb     sy
    isb
    mov     x0, #1
    mov     x1, #0x40000000
    mov     x2, #0x400000
    mov     x9, #0x40310000
    ldr     x3, [x9]
    mov     x4, #0
    mov     x9, #0x40000000
    br      x9
