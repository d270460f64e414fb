# The x86_64 test guest for keel.vm= VMs (tests/guest/x86_64/vm/): a 64-bit binary the
# image embeds with .incbin (arch/x86_64/vmx/guest_blob.S). Included by the x86_64
# image build only (arch/x86_64/sources.cmake).
set(_g ${CMAKE_SOURCE_DIR}/tests/guest/x86_64/vm)
add_executable(keel-x86-guest.elf ${_g}/start.S ${_g}/guest.c ${_g}/checks.c ${_g}/mmio.c ${_g}/bench.c ${_g}/smp.c)
target_compile_options(keel-x86-guest.elf PRIVATE $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Werror -std=c11>)
target_link_options(keel-x86-guest.elf PRIVATE -T ${_g}/guest.ld)
set_target_properties(keel-x86-guest.elf PROPERTIES LINK_DEPENDS ${_g}/guest.ld)
add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/keel-x86-guest.bin
  COMMAND llvm-objcopy -O binary $<TARGET_FILE:keel-x86-guest.elf> ${CMAKE_CURRENT_BINARY_DIR}/keel-x86-guest.bin
  DEPENDS keel-x86-guest.elf VERBATIM)
add_custom_target(keel-x86-guest DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/keel-x86-guest.bin)

function(keel_embed_x86_guest image)
  set(_blob ${CMAKE_SOURCE_DIR}/arch/x86_64/vmx/guest_blob.S)
  target_sources(${image}.elf PRIVATE ${_blob})
  set_source_files_properties(${_blob} PROPERTIES
    OBJECT_DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/keel-x86-guest.bin
    COMPILE_OPTIONS "-Wa,-I${CMAKE_CURRENT_BINARY_DIR}")
  add_dependencies(${image}.elf keel-x86-guest)
endfunction()
