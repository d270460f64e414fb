# Host unit tests (label "unit") and emulator integration tests (labels qemu-arm64,
# qemu-x86_64, bochs-vmx; "long" for anything over ~2 minutes, excluded by default).
find_package(GTest 1.12 CONFIG REQUIRED)
include(GoogleTest)

# Arch files that are pure logic (DTB, ACPI parsing...) also run on the host.
set(KEEL_ARCH_HOST_SOURCES)
foreach(arch arm64 x86_64)
  set(KEEL_ARCH_HOST_TESTABLE)
  include(${CMAKE_SOURCE_DIR}/arch/${arch}/sources.cmake)
  list(APPEND KEEL_ARCH_HOST_SOURCES ${KEEL_ARCH_HOST_TESTABLE})
endforeach()

file(GLOB KEEL_UNIT_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/*_test.cpp)
add_executable(keel_unit_tests ${KEEL_UNIT_TEST_SOURCES} ${KEEL_ARCH_HOST_SOURCES})
target_compile_options(keel_unit_tests PRIVATE ${KEEL_WARNINGS})
# KEEL_GUESTS_DIR: a unit test reads the real amd64 bzImage's header.
target_compile_definitions(keel_unit_tests PRIVATE KEEL_TEST_DATA_DIR="${CMAKE_SOURCE_DIR}/tests/data"
                           KEEL_BUILD_DIR="${CMAKE_BINARY_DIR}" KEEL_GUESTS_DIR="${KEEL_GUESTS_DIR}")
target_link_libraries(keel_unit_tests PRIVATE keel_core_host GTest::gtest_main GTest::gmock)
if(TARGET tp_zydis)
  target_link_libraries(keel_unit_tests PRIVATE tp_zydis)
endif()
# Suites named *Long (exhaustive sweeps, minutes under the sanitizers) get label "long".
gtest_discover_tests(keel_unit_tests TEST_FILTER "-*Long.*" PROPERTIES LABELS unit
                     DISCOVERY_TIMEOUT 60)
gtest_discover_tests(keel_unit_tests TEST_FILTER "*Long.*" PROPERTIES LABELS long TIMEOUT 900
                     DISCOVERY_TIMEOUT 60)

# The emulator tests boot the images (KEEL_BUILD_IMAGES, cmake/host.cmake).
if(KEEL_BUILD_IMAGES)
  include(${CMAKE_SOURCE_DIR}/tests/emu/emu.cmake)
endif()
include(${CMAKE_SOURCE_DIR}/tests/compile_fail/compile_fail.cmake)

# Device trees for the DTB parser tests, compiled with dtc (device-tree-compiler).
file(GLOB _dts CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/data/*.dts)
set(_dtbs)
foreach(_src ${_dts})
  get_filename_component(_name ${_src} NAME_WE)
  set(_out ${CMAKE_BINARY_DIR}/test-dtbs/${_name}.dtb)
  add_custom_command(OUTPUT ${_out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/test-dtbs
    COMMAND dtc -q -I dts -O dtb -o ${_out} ${_src}
    DEPENDS ${_src} VERBATIM)
  list(APPEND _dtbs ${_out})
endforeach()
add_custom_target(test_dtbs ALL DEPENDS ${_dtbs})
add_dependencies(keel_unit_tests test_dtbs)

# The session known answers in tests/unit/mailbox_session_kat_test.cpp, recomputed
# independently (pure Python X25519 + HKDF/HMAC from hashlib): docs/mailbox.md §4.2.
add_test(NAME mailbox.session_kat_script
  COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/data/session_kat.py
          --check ${CMAKE_SOURCE_DIR}/tests/unit/mailbox_session_kat_test.cpp)
set_tests_properties(mailbox.session_kat_script PROPERTIES LABELS unit TIMEOUT 60)
