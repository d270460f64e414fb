# Freestanding x86_64 toolchain for the Keel image (clang/lld 14). See docs/building.md.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER clang)
set(CMAKE_CXX_COMPILER clang++)
set(CMAKE_ASM_COMPILER clang)
set(CMAKE_C_COMPILER_TARGET x86_64-none-elf)
set(CMAKE_CXX_COMPILER_TARGET x86_64-none-elf)
set(CMAKE_ASM_COMPILER_TARGET x86_64-none-elf)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
# No SIMD, no x87, no red zone (interrupts arrive on the same stack). -fpie (after
# freestanding.cmake's -fno-pie, so it wins): the image is a static PIE that can run at
# another address than it is linked at (docs/handover.md §1.4): RIP-relative code, absolute
# pointers only in data, where lld lists them as R_X86_64_RELATIVE.
set(KEEL_ARCH_FLAGS "-mno-red-zone -mno-sse -mno-sse2 -mno-mmx -mno-80387 -mno-avx -fpie")
include(${CMAKE_CURRENT_LIST_DIR}/freestanding.cmake)
