# The harness cleans up after itself: tools/keel-run runs that pass, fail, time out, are
# interrupted (SIGTERM, SIGINT) or boot through UEFI with a TPM, and mailbox_e2e.py runs that
# pass or are interrupted, leave nothing in a fresh $TMPDIR or /dev/shm and no process
# behind; keel-run --keep keeps exactly its work folder. About 20 s.
add_test(NAME harness.cleanup
  COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/harness_cleanup.py
          --keel-run ${CMAKE_SOURCE_DIR}/tools/keel-run --mailbox-e2e ${CMAKE_SOURCE_DIR}/tests/emu/mailbox_e2e.py
          --image ${KEEL_IMAGE_arm64} --keelctl $<TARGET_FILE:keelctl>
          --guest ${CMAKE_BINARY_DIR}/arm64/keel-test-guest.bin
          --uefi-disk ${CMAKE_BINARY_DIR}/uefi/arm64/good/disk.img --log-dir ${CMAKE_BINARY_DIR}/logs)
set_tests_properties(harness.cleanup PROPERTIES LABELS "harness;qemu-arm64" TIMEOUT 180)

# keel-run's log watcher when the emulator exits just after a read and its last markers
# land a moment later (the x86_64.svm_hostile flake): found in order, a missing or
# out-of-order marker still fails. A fake emulator, no QEMU; under a second.
add_test(NAME harness.keel_run_watch
  COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/keel_run_watch_test.py)
set_tests_properties(harness.keel_run_watch PROPERTIES LABELS "harness;unit" TIMEOUT 30)
