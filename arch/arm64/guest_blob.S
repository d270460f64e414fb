// The in-tree test guest (tests/guest/arm64/), embedded until guest images come
// through the mailbox. vm_arch.cpp copies it to the start of each VM's RAM.
    .section .rodata.test_guest, "a"
    .balign 16
    .globl keel_test_guest_start
    .globl keel_test_guest_end
keel_test_guest_start:
    .incbin "keel-test-guest.bin"
keel_test_guest_end:
