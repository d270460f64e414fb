# Controller mailbox end to end (docs/mailbox.md): a fresh QEMU per test with an ivshmem
# mailbox, driven by keelctl through tests/emu/mailbox_e2e.py, booting the product image
# (no test guest inside). The VM payload is the in-tree test guest uploaded through the
# bulk window as a raw guest (Linux guests: arm64.mailbox_linux).
set(_mbox_args --image ${KEEL_PRODUCT_IMAGE_arm64} --keelctl $<TARGET_FILE:keelctl>
    --guest ${CMAKE_BINARY_DIR}/arm64/keel-test-guest.bin)
# forge: a writer of the BAR forges responses and rewrites an unread audit record (keelctl
# exits 4); flood: junk with the live session id and wrong MACs around three state changes;
# expiry: 5-command sessions renewed by keelctl, the log's MACs checked across them.
# topology: 2 sockets x 2 cores x 2 threads, 2 NUMA nodes: keelctl info and describe (issue 16).
# vfs: `keelctl vfs` next to an SR-IOV NVMe PF (one VF provisioned, one without a namespace).
foreach(_scenario lifecycle hostile logstate button forge flood expiry topology vfs)
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
set(_mbox_guests ${KEEL_GUESTS_DIR})
# A mailbox_e2e.py scenario with the guest Linux (arguments after the scenario's name go
# before it); a FAIL with a message when the guests are missing (never a skip).
function(keel_mailbox_linux_test name scenario)
  if(EXISTS ${_mbox_guests}/Image-arm64 AND EXISTS ${_mbox_guests}/initramfs-arm64.cpio.gz)
    add_test(NAME ${name}
      COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/mailbox_e2e.py ${_mbox_args} ${ARGN}
              --linux ${_mbox_guests}/Image-arm64 --initrd ${_mbox_guests}/initramfs-arm64.cpio.gz ${scenario})
  else()
    add_test(NAME ${name} COMMAND sh -c
      "echo 'FAIL: guest Linux missing in ${_mbox_guests}: run tools/fetch-guests.sh (or tools/setup.sh)'; exit 1")
  endif()
endfunction()
keel_mailbox_linux_test(arm64.mailbox_linux linux --timeout 300)
set_tests_properties(arm64.mailbox_linux PROPERTIES LABELS qemu-arm64 TIMEOUT 420 RUN_SERIAL TRUE)

# Entropy for the mailbox nonce (docs/mailbox.md §4.1, tests/emu/entropy_e2e.py): no RNG at
# all refuses; a CPU without FEAT_RNG takes the boot stage's rng-seed; RNDR alone suffices;
# two -icount boots with identical inputs never repeat a nonce.
add_test(NAME arm64.entropy_refuse COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/entropy_e2e.py
  --image ${KEEL_PRODUCT_IMAGE_arm64} refuse)
add_test(NAME arm64.entropy_no_rndr_twice COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/entropy_e2e.py
  --image ${KEEL_PRODUCT_IMAGE_arm64} --cpu cortex-a57 twice)
add_test(NAME arm64.entropy_rndr_only_twice COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/entropy_e2e.py
  --image ${KEEL_PRODUCT_IMAGE_arm64} --cpu max --no-dtb-seed twice)
set_tests_properties(arm64.entropy_refuse arm64.entropy_no_rndr_twice arm64.entropy_rndr_only_twice
  PROPERTIES LABELS qemu-arm64 TIMEOUT 300)
# The UEFI path: EFI_RNG_PROTOCOL (AAVMF's VirtioRngDxe on a virtio-rng-pci device) as the
# only source on a CPU without FEAT_RNG, and the refusal without it.
foreach(_s uefi-rng uefi-refuse)
  add_test(NAME arm64.entropy_${_s} COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/entropy_e2e.py
    --image ${KEEL_PRODUCT_IMAGE_arm64} --uefi ${CMAKE_BINARY_DIR}/uefi/arm64/good/disk.img
    --keel-run ${CMAKE_SOURCE_DIR}/tools/keel-run ${_s})
  set_tests_properties(arm64.entropy_${_s} PROPERTIES LABELS "qemu-arm64;uefi" TIMEOUT 300)
endforeach()

# vfassign: VFs given and taken back through the mailbox (docs/mailbox.md §3.11): create --vf,
# each refusal's reason, the guest's DMA inside its RAM and its faults outside (console,
# metrics, audit), FLR + quarantine before the memory is freed, reuse, detach-vf.
add_test(NAME arm64.mailbox_vfassign
  COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/mailbox_e2e.py ${_mbox_args} vfassign)
set_tests_properties(arm64.mailbox_vfassign PROPERTIES LABELS qemu-arm64 TIMEOUT 240 RUN_SERIAL TRUE)

# hotplug (issue 13, docs/sriov.md "Hot-plug"): a running Linux VM without a VF gets one through
# attach-vf: its slot's emulated root port reports the card (Presence Detect Changed, DLL State
# Changed, an MSI through the guest's GICv2m frame), Linux's pciehp adds 01:00.0, the nvme
# driver binds and writes/reads the namespace (checked in the file afterwards); ownership holds
# while it runs; detach-vf is a surprise removal (pciehp removes the device, Keel resets and
# quarantines the VF without waiting for the guest) and the guest keeps echoing; a second
# hot-add with I/O and a second removal while the guest reads the disk in a loop; a running
# test guest that ignores the slot gets the same; the VF then goes to another VM.
# The test appends this tree's tests/guest/linux/init to the initramfs. About 60-120 s.
keel_mailbox_linux_test(arm64.mailbox_hotplug hotplug --timeout 400
  --log ${CMAKE_BINARY_DIR}/logs/arm64.mailbox_hotplug.log)
set_tests_properties(arm64.mailbox_hotplug PROPERTIES LABELS qemu-arm64 TIMEOUT 520 RUN_SERIAL TRUE)
