// The controller's ECDSA P-384 public key (97-byte SEC1 point), built into the image
// (docs/mailbox.md §4). The host build writes it with `keelctl keygen` into
// <build>/keys/controller.pub; an image built without one carries zeros and
// authenticates nothing.
    .section .rodata.controller_key, "a"
    .balign 8
    .globl keel_controller_key
keel_controller_key:
#ifdef KEEL_CONTROLLER_KEY_FILE
    .incbin KEEL_CONTROLLER_KEY_FILE
#else
    .zero 97
#endif
    .balign 8
