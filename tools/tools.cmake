# Host programs (image signer, disk builder, keelctl) are added here as they land.
# tools/keel-run (emulator harness) and tools/image-report are Python scripts.

# keel-sign: keel.img signer/verifier/inspector (docs/image-format.md), over mbedTLS.
# keel_sign_host (key files, signing, ELF segments) is shared with the unit tests.
add_library(keel_sign_host STATIC
  ${CMAKE_SOURCE_DIR}/tools/keel-sign/keys.cpp
  ${CMAKE_SOURCE_DIR}/tools/keel-sign/elf.cpp)
target_compile_options(keel_sign_host PRIVATE ${KEEL_WARNINGS})
target_link_libraries(keel_sign_host PUBLIC keel_core_host)
add_executable(keel-sign ${CMAKE_SOURCE_DIR}/tools/keel-sign/keel_sign.cpp)
target_compile_options(keel-sign PRIVATE ${KEEL_WARNINGS})
target_link_libraries(keel-sign PRIVATE keel_image keel_sign_host keel_core_host)

# --- keelctl: the controller CLI for the mailbox (issue 5; docs/mailbox.md) ------------
# The controller key pair lives in <build>/keys/ (never committed): keelctl keygen makes
# it before the images build, and the arm64 image embeds controller.pub
# (hypervisor/sources.cmake, mailbox/controller_key.S).
add_executable(keelctl
  ${CMAKE_SOURCE_DIR}/tools/keelctl/main.cpp ${CMAKE_SOURCE_DIR}/tools/keelctl/client.cpp
  ${CMAKE_SOURCE_DIR}/tools/keelctl/session.cpp ${CMAKE_SOURCE_DIR}/tools/keelctl/commands.cpp
  ${CMAKE_SOURCE_DIR}/tools/keelctl/console_log.cpp ${CMAKE_SOURCE_DIR}/tools/keelctl/hostile.cpp
  ${CMAKE_SOURCE_DIR}/tools/keelctl/log.cpp ${CMAKE_SOURCE_DIR}/tools/keelctl/log_state.cpp
  ${CMAKE_SOURCE_DIR}/tools/keelctl/session_state.cpp ${CMAKE_SOURCE_DIR}/tools/keelctl/platform.cpp
  ${CMAKE_SOURCE_DIR}/tools/keelctl/update.cpp ${CMAKE_SOURCE_DIR}/tools/keelctl/vf.cpp)
target_compile_options(keelctl PRIVATE ${KEEL_WARNINGS})
target_compile_definitions(keelctl PRIVATE KEELCTL_DEFAULT_KEY="${CMAKE_BINARY_DIR}/keys/controller.pem")
target_link_libraries(keelctl PRIVATE keel_sign_host keel_core_host)
set(KEEL_CONTROLLER_KEY_DIR ${CMAKE_BINARY_DIR}/keys)
add_custom_command(OUTPUT ${KEEL_CONTROLLER_KEY_DIR}/controller.pem ${KEEL_CONTROLLER_KEY_DIR}/controller.pub
  COMMAND ${CMAKE_COMMAND} -E make_directory ${KEEL_CONTROLLER_KEY_DIR}
  COMMAND keelctl keygen --keep-existing --private ${KEEL_CONTROLLER_KEY_DIR}/controller.pem
          --public ${KEEL_CONTROLLER_KEY_DIR}/controller.pub
  DEPENDS keelctl
  COMMENT "Controller key pair in ${KEEL_CONTROLLER_KEY_DIR} (generated once, never committed)" VERBATIM)
add_custom_target(keel-controller-key ALL DEPENDS ${KEEL_CONTROLLER_KEY_DIR}/controller.pub)
foreach(_arch arm64 x86_64)
  if(TARGET image-${_arch})
    add_dependencies(image-${_arch} keel-controller-key)
  endif()
endforeach()
# The mailbox fuzz target (libFuzzer + ASan/UBSan) and its short smoke run: libFuzzer
# (-fsanitize=fuzzer) is clang's, so a GCC build has no fuzz target.
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  include(${CMAKE_SOURCE_DIR}/tests/fuzz/mailbox_fuzz.cmake)
endif()

# guest-dtb: the device tree Keel gives an arm64 Linux VM, written to a file by the
# hypervisor's own build_guest_dtb (arch/arm64/guest_dtb.cpp, host-testable), so the Linux
# boot benchmark can hand bare QEMU the same machine description (bench/arm64_linux_boot.sh).
add_executable(guest-dtb ${CMAKE_SOURCE_DIR}/tools/guest-dtb/main.cpp
                         ${CMAKE_SOURCE_DIR}/arch/arm64/guest_dtb.cpp)
target_compile_options(guest-dtb PRIVATE ${KEEL_WARNINGS})
target_link_libraries(guest-dtb PRIVATE keel_core_host)

# guest-x86-boot: an x86 Linux VM's RAM at entry as Keel's start path lays it out (the
# hypervisor's own linux_boot.cpp and guest_acpi.cpp), so the x86 Linux boot benchmark can
# enter the same kernel on bare QEMU with the same boot_params and ACPI
# (bench/x86_linux_boot.sh).
add_executable(guest-x86-boot ${CMAKE_SOURCE_DIR}/tools/guest-x86-boot/main.cpp
                              ${CMAKE_SOURCE_DIR}/arch/x86_64/linux_boot.cpp
                              ${CMAKE_SOURCE_DIR}/arch/x86_64/guest_acpi.cpp)
target_compile_options(guest-x86-boot PRIVATE ${KEEL_WARNINGS})
target_link_libraries(guest-x86-boot PRIVATE keel_core_host)
