# An in-tree freestanding test guest, built with the image's cross toolchain and
# embedded into the test image (keel-<arch>-test, never keel.img) with .incbin (the blob's .S includes the .bin
# by name from this build folder). Used by tests/guest/arm64 and tests/guest/x86_64/vm.
#
#   keel_test_guest(NAME n DIR dir SOURCES s... LINKER_SCRIPT ld)   defines n.elf, n.bin, target n
#   keel_embed_test_guest_blob(IMAGE image GUEST n)                  adds n.bin to the test image
function(keel_test_guest)
  cmake_parse_arguments(G "" "NAME;LINKER_SCRIPT" "SOURCES" ${ARGN})
  add_executable(${G_NAME}.elf ${G_SOURCES})
  target_compile_options(${G_NAME}.elf PRIVATE $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Werror -std=c11>)
  target_link_options(${G_NAME}.elf PRIVATE -T ${G_LINKER_SCRIPT})
  set_target_properties(${G_NAME}.elf PROPERTIES LINK_DEPENDS ${G_LINKER_SCRIPT})
  add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/${G_NAME}.bin
    COMMAND llvm-objcopy -O binary $<TARGET_FILE:${G_NAME}.elf> ${CMAKE_CURRENT_BINARY_DIR}/${G_NAME}.bin
    DEPENDS ${G_NAME}.elf VERBATIM)
  add_custom_target(${G_NAME} DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/${G_NAME}.bin)
endfunction()

function(keel_embed_test_guest_blob)
  cmake_parse_arguments(E "" "IMAGE;GUEST" "" ${ARGN})
  set(_blob ${CMAKE_SOURCE_DIR}/tests/guest/guest_blob.S)
  target_sources(${E_IMAGE}-test.elf PRIVATE ${_blob})
  set_source_files_properties(${_blob} PROPERTIES
    OBJECT_DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/${E_GUEST}.bin
    COMPILE_DEFINITIONS "KEEL_TEST_GUEST_BIN=\"${E_GUEST}.bin\""
    COMPILE_OPTIONS "-Wa,-I${CMAKE_CURRENT_BINARY_DIR}")
  add_dependencies(${E_IMAGE}-test.elf ${E_GUEST})
endfunction()
