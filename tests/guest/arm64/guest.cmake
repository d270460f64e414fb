# The arm64 test guest (tests/guest/arm64/): a tiny EL1 binary the test image embeds
# with .incbin (tests/guest/guest_blob.S) and runs in every keel.vm= VM that names no kernel; the
# mailbox tests upload keel-test-guest.bin as a raw guest. Included by the arm64 image
# build only.
include(${CMAKE_SOURCE_DIR}/cmake/test_guest.cmake)
set(_g ${CMAKE_SOURCE_DIR}/tests/guest/arm64)
keel_test_guest(NAME keel-test-guest SOURCES ${_g}/start.S ${_g}/guest.c ${_g}/regs.S
                        ${_g}/arch_checks.c ${_g}/debug_checks.c ${_g}/gic.c ${_g}/button.c
                        ${_g}/nvme.c
                LINKER_SCRIPT ${_g}/guest.ld)
# Runs the same guest on bare QEMU for reference values (tests/emu/bare_reference.py).
keel_test_guest(NAME keel-bare-shim SOURCES ${_g}/bare_shim.S LINKER_SCRIPT ${_g}/bare_shim.ld)
add_dependencies(keel-test-guest keel-bare-shim) # built whenever the guest is

# Called from image.cmake's post-build hook: embeds the guest into the image.
function(keel_embed_test_guest image)
  keel_embed_test_guest_blob(IMAGE ${image} GUEST keel-test-guest)
endfunction()
