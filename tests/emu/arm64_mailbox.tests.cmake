# Controller mailbox end to end (docs/mailbox.md): a fresh QEMU per test with an ivshmem
# mailbox, driven by keelctl through tests/emu/mailbox_e2e.py, booting the product image
# (no test guest inside). The VM payload is the in-tree test guest uploaded through the
# bulk window as a raw guest (Linux guests: arm64.mailbox_linux).
set(_mbox_args --image ${KEEL_PRODUCT_IMAGE_arm64} --keelctl $<TARGET_FILE:keelctl>
    --guest ${CMAKE_BINARY_DIR}/arm64/keel-test-guest.bin)
foreach(_scenario lifecycle hostile logstate button)
  add_test(NAME arm64.mailbox_${_scenario}
    COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/mailbox_e2e.py ${_mbox_args} ${_scenario})
  set_tests_properties(arm64.mailbox_${_scenario} PROPERTIES LABELS qemu-arm64 TIMEOUT 240 RUN_SERIAL TRUE)
endforeach()

# Linux through the mailbox: two 1-vCPU Linux VMs created by keelctl (Image + initramfs
# through the bulk window, SHA-256 checked), both consoles read through the rings, a line
# echoed back, a polite STOP (the power button: the guest powers itself off), DESTROY
# back to the baseline, a new VM booting in the freed slot, the audit chain verified.
# arm64.mailbox_button: the button with the test guest, and the forced end after the
# timeout of a guest that ignores it. About 95 s under TCG on 2 host cores. Guests come from
# tools/fetch-guests.sh; missing ones FAIL with a message (never skip).
if(DEFINED ENV{KEEL_CACHE})
  set(_mbox_guests "$ENV{KEEL_CACHE}/guests")
elseif(DEFINED ENV{XDG_CACHE_HOME})
  set(_mbox_guests "$ENV{XDG_CACHE_HOME}/keel/guests")
else()
  set(_mbox_guests "$ENV{HOME}/.cache/keel/guests")
endif()
if(EXISTS ${_mbox_guests}/Image-arm64 AND EXISTS ${_mbox_guests}/initramfs-arm64.cpio.gz)
  add_test(NAME arm64.mailbox_linux
    COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/mailbox_e2e.py ${_mbox_args} --timeout 300
            --linux ${_mbox_guests}/Image-arm64 --initrd ${_mbox_guests}/initramfs-arm64.cpio.gz linux)
else()
  add_test(NAME arm64.mailbox_linux COMMAND sh -c
    "echo 'FAIL: guest Linux missing in ${_mbox_guests}: run tools/fetch-guests.sh (or tools/setup.sh)'; exit 1")
endif()
set_tests_properties(arm64.mailbox_linux PROPERTIES LABELS qemu-arm64 TIMEOUT 420 RUN_SERIAL TRUE)
