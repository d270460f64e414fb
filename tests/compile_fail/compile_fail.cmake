# Compile-fail checks (label "unit"): tests/compile_fail/boundary_types.cpp built with
# KEEL_WARNINGS as an x86_64 image source, syntax only. Each case must be rejected with
# its diagnostic: a wider or signed value into a width-typed VMCS field without a cast,
# a dropped Status. The control (no case) must compile, so a pass means the diagnostic,
# not a broken include path. Needs clang (any target); the default preset uses it.
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  return()
endif()
set(_cf_src ${CMAKE_SOURCE_DIR}/tests/compile_fail/boundary_types.cpp)
set(_cf_cmd ${CMAKE_CXX_COMPILER} --target=x86_64-none-elf -std=c++20 -ffreestanding -nostdlibinc
    -fsyntax-only ${KEEL_WARNINGS} -I${CMAKE_SOURCE_DIR} -I${CMAKE_SOURCE_DIR}/arch/x86_64/include
    -isystem ${CMAKE_SOURCE_DIR}/hypervisor/libc/include)
add_test(NAME compile_fail.control COMMAND ${_cf_cmd} ${_cf_src})
set_tests_properties(compile_fail.control PROPERTIES LABELS unit)
set(_narrowing "error: implicit conversion loses integer precision")
set(_signedness "error: implicit conversion changes signedness")
foreach(_case
    "vmwrite_u64_into_16bit|${_narrowing}"
    "vmwrite_u64_into_32bit|${_narrowing}"
    "vmwrite_signed_into_32bit|${_signedness}"
    "vmread_natural_into_u32|${_narrowing}"
    "ignored_status|error: ignoring return value of function declared with 'nodiscard'")
  string(REPLACE "|" ";" _case "${_case}")
  list(GET _case 0 _name)
  list(GET _case 1 _expect)
  add_test(NAME compile_fail.${_name} COMMAND ${_cf_cmd} -DKEEL_CASE_${_name} ${_cf_src})
  set_tests_properties(compile_fail.${_name} PROPERTIES LABELS unit PASS_REGULAR_EXPRESSION "${_expect}")
endforeach()
