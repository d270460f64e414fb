// The arch's in-tree test guest (tests/guest/<arch>/), embedded into the test image only
// (keel-<arch>-test); tests/guest/builtin_guest.cpp hands it to keel.vm= VMs. The binary's
// name comes from the build (KEEL_TEST_GUEST_BIN, cmake/test_guest.cmake).
    .section .rodata.test_guest, "a"
    .balign 16
    .globl keel_test_guest_start
    .globl keel_test_guest_end
keel_test_guest_start:
    .incbin KEEL_TEST_GUEST_BIN
keel_test_guest_end:

    .section .note.GNU-stack, "", %progbits
