# The arm64 test guest (tests/guest/arm64/): a tiny EL1 binary the hypervisor image
# embeds with .incbin (arch/arm64/guest_blob.S) and runs in every keel.vm= VM until
# real guest images arrive through the mailbox. Included by the arm64 image build only.
set(_g ${CMAKE_SOURCE_DIR}/tests/guest/arm64)
add_executable(keel-test-guest.elf ${_g}/start.S ${_g}/guest.c)
target_compile_options(keel-test-guest.elf PRIVATE $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Werror -std=c11>)
target_link_options(keel-test-guest.elf PRIVATE -T ${_g}/guest.ld)
set_target_properties(keel-test-guest.elf PROPERTIES LINK_DEPENDS ${_g}/guest.ld)
add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/keel-test-guest.bin
  COMMAND llvm-objcopy -O binary $<TARGET_FILE:keel-test-guest.elf> ${CMAKE_CURRENT_BINARY_DIR}/keel-test-guest.bin
  DEPENDS keel-test-guest.elf VERBATIM)
add_custom_target(keel-test-guest DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/keel-test-guest.bin)

# Called from image.cmake's post-build hook: embeds the guest into the image.
function(keel_embed_test_guest image)
  set(_blob ${CMAKE_SOURCE_DIR}/arch/arm64/guest_blob.S)
  target_sources(${image}.elf PRIVATE ${_blob})
  set_source_files_properties(${_blob} PROPERTIES
    OBJECT_DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/keel-test-guest.bin
    COMPILE_OPTIONS "-Wa,-I${CMAKE_CURRENT_BINARY_DIR}")
  add_dependencies(${image}.elf keel-test-guest)
endfunction()
