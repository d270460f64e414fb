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
