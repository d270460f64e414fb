# Host side: tools, unit tests (ASan+UBSan), and the two freestanding images built as
# sub-builds of this same tree with the cross toolchains.
include(${CMAKE_SOURCE_DIR}/cmake/sources.cmake)
include(ExternalProject)

option(KEEL_SANITIZE "build host tests with ASan+UBSan" ON)
# OFF: host tools and unit tests only (the "gcc" preset), without the freestanding images,
# the UEFI boot stage and the emulator tests that need them.
option(KEEL_BUILD_IMAGES "also build both images, the UEFI boot stage and the emulator tests" ON)
if(KEEL_BUILD_IMAGES AND NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  # The UEFI boot stage is cross-compiled with the host C compiler (--target=...-windows-gnu).
  message(FATAL_ERROR "KEEL_BUILD_IMAGES needs clang as the host compiler "
                      "(${CMAKE_C_COMPILER_ID} found): use -DKEEL_BUILD_IMAGES=OFF or the default preset")
endif()
set(KEEL_HOST_SAN_FLAGS "")
if(KEEL_SANITIZE)
  set(KEEL_HOST_SAN_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
endif()

# The arch-independent core with the fake arch, for host tests (../shared/STYLE.md §2).
add_library(keel_core_host STATIC ${KEEL_CORE_SOURCES} ${KEEL_CRYPTO_SOURCES})
target_include_directories(keel_core_host PUBLIC ${CMAKE_SOURCE_DIR}/arch/fake/include ${CMAKE_SOURCE_DIR})
target_compile_options(keel_core_host PRIVATE ${KEEL_WARNINGS})
target_compile_options(keel_core_host PUBLIC ${KEEL_HOST_SAN_FLAGS})
target_link_options(keel_core_host PUBLIC ${KEEL_HOST_SAN_FLAGS})
target_compile_definitions(keel_core_host PUBLIC KEEL_HOST=1 KEEL_VERSION_STRING="${PROJECT_VERSION}")
target_link_libraries(keel_core_host PUBLIC tp_mbedcrypto tp_fdt)
target_sources(keel_core_host PRIVATE ${CMAKE_SOURCE_DIR}/arch/fake/fake_arch.cpp
               ${CMAKE_SOURCE_DIR}/arch/fake/fake_vm.cpp)

set(KEEL_BOOT_SECURITY_FLOOR 1 CACHE STRING "security-version floor built into the boot stage")
if(KEEL_BUILD_IMAGES)
  foreach(arch arm64 x86_64)
    ExternalProject_Add(image-${arch}
      SOURCE_DIR ${CMAKE_SOURCE_DIR}
      BINARY_DIR ${CMAKE_BINARY_DIR}/${arch}
      CMAKE_GENERATOR Ninja
      CMAKE_ARGS -DKEEL_TARGET_ARCH=${arch}
                 -DCMAKE_TOOLCHAIN_FILE=${CMAKE_SOURCE_DIR}/cmake/toolchain-${arch}.cmake
                 -DKEEL_DEPS_DIR=${KEEL_DEPS_DIR}
                 -DKEEL_BOOT_SECURITY_FLOOR=${KEEL_BOOT_SECURITY_FLOOR}
      BUILD_ALWAYS ON
      INSTALL_COMMAND ""
      USES_TERMINAL_BUILD ON)
    # Emulator tests boot the test image (the product plus the in-tree test guests); the
    # mailbox tests, keel.img and the demo use the product image (cmake/image.cmake).
    set(KEEL_IMAGE_${arch} ${CMAKE_BINARY_DIR}/${arch}/keel-${arch}-test.bin)
    set(KEEL_TEST_ELF_${arch} ${CMAKE_BINARY_DIR}/${arch}/keel-${arch}-test.elf)
    set(KEEL_PRODUCT_IMAGE_${arch} ${CMAKE_BINARY_DIR}/${arch}/keel-${arch}.bin)
    set(KEEL_ELF_${arch} ${CMAKE_BINARY_DIR}/${arch}/keel-${arch}.elf)
  endforeach()
endif()

enable_testing()
include(${CMAKE_SOURCE_DIR}/tools/tools.cmake)
include(${CMAKE_SOURCE_DIR}/tests/tests.cmake)
include(${CMAKE_SOURCE_DIR}/boot/boot.cmake)
