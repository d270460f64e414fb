// The in-tree test guest (tests/guest/arm64/), embedded into the test image only
// (keel-<arch>-test); tests/guest/builtin_guest.cpp hands it to keel.vm= VMs.
    .section .rodata.test_guest, "a"
    .balign 16
    .globl keel_test_guest_start
    .globl keel_test_guest_end
keel_test_guest_start:
    .incbin "keel-test-guest.bin"
keel_test_guest_end:
