// Assembly, included by start.S and relocate.S.
// clang-format off
/* The early entries' last words: before any console exists, write the NUL-terminated
 * message at (E/R)SI to COM1 byte by byte (QEMU and Bochs show it without initialisation)
 * and halt for good. The same text assembles in 32- and 64-bit code. */
.macro keel_early_stop
4:  lodsb
    test    %al, %al
    jz      5f
    mov     $0x3f8, %dx
    outb    %al, %dx
    jmp     4b
5:  cli
    hlt
    jmp     5b
.endm
