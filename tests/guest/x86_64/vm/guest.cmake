# The x86_64 test guest for keel.vm= VMs (tests/guest/x86_64/vm/): a 64-bit binary the
# test image embeds with .incbin (tests/guest/guest_blob.S). Included by the x86_64 image build only
# (arch/x86_64/sources.cmake).
include(${CMAKE_SOURCE_DIR}/cmake/test_guest.cmake)
set(_g ${CMAKE_SOURCE_DIR}/tests/guest/x86_64/vm)
keel_test_guest(NAME keel-x86-guest
  SOURCES ${_g}/start.S ${_g}/guest.c ${_g}/checks.c ${_g}/mmio.c ${_g}/bench.c ${_g}/smp.c ${_g}/apic.c ${_g}/nvme.c ${_g}/gaps.c ${_g}/regs.S
  LINKER_SCRIPT ${_g}/guest.ld)

function(keel_embed_x86_guest image)
  keel_embed_test_guest_blob(IMAGE ${image} GUEST keel-x86-guest)
endfunction()
