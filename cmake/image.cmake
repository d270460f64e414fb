# Freestanding hypervisor image for KEEL_TARGET_ARCH (arm64 | x86_64).
include(${CMAKE_SOURCE_DIR}/cmake/sources.cmake)
set(ARCH_DIR ${CMAKE_SOURCE_DIR}/arch/${KEEL_TARGET_ARCH})
include(${ARCH_DIR}/sources.cmake)   # KEEL_ARCH_SOURCES, KEEL_ARCH_LIBS, KEEL_ARCH_LINKER_SCRIPT

add_library(keel_libc STATIC ${CMAKE_SOURCE_DIR}/hypervisor/libc/string.cpp)
target_compile_options(keel_libc PRIVATE ${KEEL_WARNINGS})

set(image keel-${KEEL_TARGET_ARCH})
add_executable(${image}.elf ${KEEL_CORE_SOURCES} ${KEEL_CORE_IMAGE_SOURCES} ${KEEL_CRYPTO_SOURCES} ${KEEL_ARCH_SOURCES})
target_include_directories(${image}.elf PRIVATE ${ARCH_DIR}/include ${CMAKE_SOURCE_DIR})
target_include_directories(${image}.elf SYSTEM PRIVATE ${CMAKE_SOURCE_DIR}/hypervisor/libc/include)
target_compile_options(${image}.elf PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${KEEL_WARNINGS}>)
target_compile_definitions(${image}.elf PRIVATE KEEL_VERSION_STRING="${PROJECT_VERSION}")
target_link_libraries(${image}.elf PRIVATE ${KEEL_ARCH_LIBS} tp_mbedcrypto tp_fdt keel_libc)
target_link_options(${image}.elf PRIVATE -T ${KEEL_ARCH_LINKER_SCRIPT} -Wl,-Map=${image}.map)
set_target_properties(${image}.elf PROPERTIES LINK_DEPENDS ${KEEL_ARCH_LINKER_SCRIPT})

# Flat binary (arm64: Linux Image header at offset 0; x86_64: Multiboot headers in the
# first 8 KiB), then the size/code-line report (tools/image-report).
string(REPLACE ";" "@" _tp_report "${KEEL_TP_REPORT}")
add_custom_command(TARGET ${image}.elf POST_BUILD
  COMMAND llvm-objcopy -O binary $<TARGET_FILE:${image}.elf> ${image}.bin
  COMMAND python3 ${CMAKE_SOURCE_DIR}/tools/image-report ${KEEL_TARGET_ARCH}
          $<TARGET_FILE:${image}.elf> ${CMAKE_CURRENT_BINARY_DIR}/${image}.bin ${CMAKE_SOURCE_DIR}
          "${_tp_report}"
  VERBATIM)

# An arch may add more artefacts (x86_64: the GRUB ISO for Bochs).
if(COMMAND keel_arch_post_build)
  keel_arch_post_build(${image})
endif()
