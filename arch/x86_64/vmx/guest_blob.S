// The in-tree x86_64 test guest (tests/guest/x86_64/vm/), embedded until guest images
// come through the mailbox. vm_arch.cpp copies it to the start of each VM's RAM.
    .section .rodata.x86_guest, "a"
    .balign 16
    .globl keel_x86_guest_start
    .globl keel_x86_guest_end
keel_x86_guest_start:
    .incbin "keel-x86-guest.bin"
keel_x86_guest_end:

    .section .note.GNU-stack, "", @progbits
