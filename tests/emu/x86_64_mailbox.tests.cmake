# The controller mailbox on x86 (issue 12): q35 under TCG (-cpu max: the SVM backend) with
# an ivshmem-plain mailbox, the product image by Multiboot, driven by keelctl through
# tests/emu/mailbox_e2e.py --arch x86_64 exactly as the arm64 tests are; the VM payload is
# the in-tree x86 test guest through the bulk window. The same scenarios as arm64 apart
# from the ones that need the arm64 guest's modes (button) or Linux (later).
set(_x86_mbox_args --arch x86_64 --image ${KEEL_PRODUCT_IMAGE_x86_64} --keelctl $<TARGET_FILE:keelctl>
    --guest ${CMAKE_BINARY_DIR}/x86_64/keel-x86-guest.bin)
foreach(_scenario lifecycle hostile logstate forge flood expiry topology)
  add_test(NAME x86_64.mailbox_${_scenario}
    COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/mailbox_e2e.py ${_x86_mbox_args} ${_scenario})
  set_tests_properties(x86_64.mailbox_${_scenario} PROPERTIES LABELS qemu-x86_64 TIMEOUT 240 RUN_SERIAL TRUE)
endforeach()
