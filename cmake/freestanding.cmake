# Flags shared by both freestanding targets (../shared/DEPENDENCIES.md §2).
set(KEEL_FS_FLAGS "-ffreestanding -fno-builtin -nostdlibinc -fno-stack-protector -fno-pic -fno-pie -ffunction-sections -fdata-sections -fno-omit-frame-pointer -O2 -g ${KEEL_ARCH_FLAGS}")
set(CMAKE_C_FLAGS_INIT "${KEEL_FS_FLAGS}")
set(CMAKE_CXX_FLAGS_INIT "${KEEL_FS_FLAGS} -fno-exceptions -fno-rtti -fno-threadsafe-statics -fno-use-cxa-atexit")
set(CMAKE_ASM_FLAGS_INIT "${KEEL_ARCH_FLAGS} -g")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wno-unused-command-line-argument -fuse-ld=lld -nostdlib -static -Wl,--gc-sections -Wl,--build-id=none")
set(CMAKE_C_FLAGS_RELEASE "" CACHE STRING "" FORCE)
set(CMAKE_CXX_FLAGS_RELEASE "" CACHE STRING "" FORCE)
set(CMAKE_BUILD_TYPE "" CACHE STRING "" FORCE)
