// The public key whose signature an incoming keel.img must carry (docs/handover.md §1):
// the 97-byte SEC1 point the UEFI boot stage trusts (boot/boot.cmake writes it to
// <build>/keys/image-trust.pub, KEEL_SIGNING_PUBLIC_KEY or the development key). An
// image built without one carries zeros, and every update is refused (unknown key).
    .section .rodata.image_trust_key, "a"
    .balign 8
    .globl keel_image_trust_key
keel_image_trust_key:
#ifdef KEEL_IMAGE_TRUST_KEY_FILE
    .incbin KEEL_IMAGE_TRUST_KEY_FILE
#else
    .zero 97
#endif
    .balign 8
