# Controller mailbox end to end (docs/mailbox.md): a fresh QEMU per test with an ivshmem
# mailbox, driven by keelctl through tests/emu/mailbox_e2e.py. The VM payload is the
# in-tree test guest uploaded through the bulk window (Linux guests: not yet, see
# docs/mailbox.md §10).
set(_mbox_args --image ${KEEL_IMAGE_arm64} --keelctl $<TARGET_FILE:keelctl>
    --guest ${CMAKE_BINARY_DIR}/arm64/keel-test-guest.bin)
foreach(_scenario lifecycle hostile logstate)
  add_test(NAME arm64.mailbox_${_scenario}
    COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/mailbox_e2e.py ${_mbox_args} ${_scenario})
  set_tests_properties(arm64.mailbox_${_scenario} PROPERTIES LABELS qemu-arm64 TIMEOUT 240 RUN_SERIAL TRUE)
endforeach()
