# x86_64 image sources (placeholder until the x86 first-light work lands).
set(_a ${CMAKE_SOURCE_DIR}/arch/x86_64)
set(KEEL_ARCH_SOURCES)
set(KEEL_ARCH_LIBS tp_zydis)
set(KEEL_ARCH_LINKER_SCRIPT ${_a}/linker.ld)
set(KEEL_ARCH_HOST_TESTABLE)
