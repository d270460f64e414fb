# arm64 image sources (the core's arch half for aarch64).
set(_a ${CMAKE_SOURCE_DIR}/arch/arm64)
set(KEEL_ARCH_SOURCES
  ${_a}/start.S ${_a}/vectors.S
  ${_a}/boot.cpp ${_a}/mmu.cpp ${_a}/pl011.cpp ${_a}/exception.cpp ${_a}/cpu.cpp
  ${_a}/psci.cpp ${_a}/platform.cpp ${_a}/features.cpp ${_a}/dtb_platform.cpp
  ${_a}/boot_uefi.cpp
)
set(KEEL_ARCH_LIBS)
set(KEEL_ARCH_LINKER_SCRIPT ${_a}/linker.ld)
# A static PIE that relocates itself (start.S, docs/handover.md §1.4): the code is
# PC-relative already (small code model); the link lists data's absolute pointers as
# R_AARCH64_RELATIVE and also writes their linked values (a load at the linked address
# relocates nothing). notext: vtables sit in .rodata (compiled -fno-pie), which start.S
# patches before the MMU makes it read-only.
set(KEEL_ARCH_LINK_OPTIONS -Wl,--pie -Wl,--no-dynamic-linker -Wl,--apply-dynamic-relocs
    -Wl,-z,notext -Wl,-z,norelro -Wl,--hash-style=sysv)
set(KEEL_ARCH_POST_LINK_CHECK python3 ${CMAKE_SOURCE_DIR}/tools/check-pie-relocs)
# Files that are pure logic and also run in the host unit tests.
set(KEEL_ARCH_HOST_TESTABLE ${_a}/dtb_platform.cpp)
# Partitioning and VMs: arch/arm64/vm_sources.cmake.
include(${_a}/vm_sources.cmake)
