# Emulator integration tests: each starts a fresh emulator through tools/keel-run.
#   keel_emu_test(NAME name LABEL label [TIMEOUT s] [SERIAL] ARGS keel-run-args...)
function(keel_emu_test)
  cmake_parse_arguments(T "SERIAL" "NAME;LABEL;TIMEOUT" "ARGS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_test(NAME ${T_NAME}
    COMMAND python3 ${CMAKE_SOURCE_DIR}/tools/keel-run --timeout ${T_TIMEOUT}
            --log ${CMAKE_BINARY_DIR}/logs/${T_NAME}.log ${T_ARGS})
  math(EXPR _ctest_timeout "${T_TIMEOUT} + 30")
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABEL}" TIMEOUT ${_ctest_timeout})
  if(T_SERIAL)
    set_tests_properties(${T_NAME} PROPERTIES RUN_SERIAL TRUE)
  endif()
endfunction()

file(GLOB _emu_suites CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/emu/*.tests.cmake)
foreach(_suite ${_emu_suites})
  include(${_suite})
endforeach()
