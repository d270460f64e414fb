# Freestanding hypervisor images for KEEL_TARGET_ARCH (arm64 | x86_64), linked twice from
# the same objects:
#   keel-<arch>       the product (signed into keel.img): no test guest inside
#   keel-<arch>-test  the same plus the in-tree test guests (KEEL_TEST_IMAGE_SOURCES), for
#                     `keel.vm=` definitions that name no kernel and the x86 keel.test=vmx runs
include(${CMAKE_SOURCE_DIR}/cmake/sources.cmake)
# The boot stage's floor (boot/boot.cmake), also the lowest security version live update
# accepts; the version string the image prints and puts in its note (docs/handover.md).
set(KEEL_BOOT_SECURITY_FLOOR 1 CACHE STRING "security-version floor (boot stage and live update)")
set(KEEL_IMAGE_VERSION "${PROJECT_VERSION}" CACHE STRING "version string built into the image")
set(ARCH_DIR ${CMAKE_SOURCE_DIR}/arch/${KEEL_TARGET_ARCH})
set(KEEL_PRODUCT_ONLY_SOURCES ${CMAKE_SOURCE_DIR}/hypervisor/vm/builtin_guest_none.cpp)
set(KEEL_TEST_IMAGE_SOURCES ${CMAKE_SOURCE_DIR}/tests/guest/builtin_guest.cpp)
include(${ARCH_DIR}/sources.cmake)   # KEEL_ARCH_SOURCES, _LIBS, _LINKER_SCRIPT, _LINK_OPTIONS
# Optional arch parts the arch does not provide yet come from arch/none/ (its README).
set(KEEL_ARCH_FALLBACK_INCLUDE)
if(NOT EXISTS ${ARCH_DIR}/include/arch/update.hpp)
  list(APPEND KEEL_ARCH_SOURCES ${CMAKE_SOURCE_DIR}/arch/none/update_none.cpp)
  set(KEEL_ARCH_FALLBACK_INCLUDE ${CMAKE_SOURCE_DIR}/arch/none/include)
endif()

add_library(keel_libc STATIC ${CMAKE_SOURCE_DIR}/hypervisor/libc/string.cpp)
target_compile_options(keel_libc PRIVATE ${KEEL_WARNINGS})

function(keel_image_settings target)
  target_include_directories(${target} PRIVATE ${ARCH_DIR}/include ${KEEL_ARCH_FALLBACK_INCLUDE}
                             ${CMAKE_SOURCE_DIR})
  target_include_directories(${target} SYSTEM PRIVATE ${CMAKE_SOURCE_DIR}/hypervisor/libc/include)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${KEEL_WARNINGS}>)
  target_compile_definitions(${target} PRIVATE KEEL_VERSION_STRING="${KEEL_IMAGE_VERSION}"
                             KEEL_SECURITY_FLOOR=${KEEL_BOOT_SECURITY_FLOOR}u)
  target_link_libraries(${target} PRIVATE ${KEEL_ARCH_LIBS} tp_mbedcrypto tp_fdt keel_libc)
endfunction()

add_library(keel_image_objects OBJECT ${KEEL_CORE_SOURCES} ${KEEL_CORE_IMAGE_SOURCES}
            ${KEEL_CRYPTO_SOURCES} ${KEEL_ARCH_SOURCES})
keel_image_settings(keel_image_objects)

# Flat binary (arm64: Linux Image header at offset 0; x86_64: Multiboot headers in the
# first 8 KiB), then the size/code-line report (tools/image-report).
string(REPLACE ";" "@" _tp_report "${KEEL_TP_REPORT}")
function(keel_link_image image)
  add_executable(${image}.elf $<TARGET_OBJECTS:keel_image_objects> ${ARGN})
  keel_image_settings(${image}.elf)
  target_link_options(${image}.elf PRIVATE -T ${KEEL_ARCH_LINKER_SCRIPT} -Wl,-Map=${image}.map
                      ${KEEL_ARCH_LINK_OPTIONS})
  set_target_properties(${image}.elf PROPERTIES LINK_DEPENDS ${KEEL_ARCH_LINKER_SCRIPT})
  add_custom_command(TARGET ${image}.elf POST_BUILD
    COMMAND llvm-objcopy -O binary $<TARGET_FILE:${image}.elf> ${image}.bin
    COMMAND python3 ${CMAKE_SOURCE_DIR}/tools/image-report ${KEEL_TARGET_ARCH}
            $<TARGET_FILE:${image}.elf> ${CMAKE_CURRENT_BINARY_DIR}/${image}.bin ${CMAKE_SOURCE_DIR}
            "${_tp_report}"
    VERBATIM)
  if(KEEL_ARCH_POST_LINK_CHECK) # e.g. arm64: the relocations its entry applies
    add_custom_command(TARGET ${image}.elf POST_BUILD
      COMMAND ${KEEL_ARCH_POST_LINK_CHECK} $<TARGET_FILE:${image}.elf> VERBATIM)
  endif()
endfunction()

set(image keel-${KEEL_TARGET_ARCH})
keel_link_image(${image} ${KEEL_PRODUCT_ONLY_SOURCES})
keel_link_image(${image}-test ${KEEL_TEST_IMAGE_SOURCES})

# An arch adds its test guests to the test image, and may add more artefacts (x86_64:
# the GRUB ISOs for Bochs, built from the test image).
if(COMMAND keel_arch_post_build)
  keel_arch_post_build(${image})
endif()
