# libFuzzer target for the mailbox parser/validator and service (ASan + UBSan), and a
# short smoke run in the default suite (label "unit"). Longer runs: docs/mailbox.md §9.
set(_m ${CMAKE_SOURCE_DIR}/hypervisor/mailbox)
add_executable(mailbox_fuzz ${CMAKE_SOURCE_DIR}/tests/fuzz/mailbox_fuzz.cpp
  ${_m}/shared.cpp ${_m}/command.cpp ${_m}/auth.cpp ${_m}/audit.cpp ${_m}/service.cpp ${_m}/dispatch.cpp)
target_compile_options(mailbox_fuzz PRIVATE ${KEEL_WARNINGS} -fsanitize=fuzzer)
target_link_options(mailbox_fuzz PRIVATE -fsanitize=fuzzer)
target_link_libraries(mailbox_fuzz PRIVATE keel_core_host)
add_test(NAME mailbox.fuzz_smoke
  COMMAND mailbox_fuzz -runs=20000 -max_total_time=20 -max_len=16384)
set_tests_properties(mailbox.fuzz_smoke PROPERTIES LABELS unit TIMEOUT 60)
