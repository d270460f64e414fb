# Live update (issue 14; docs/handover.md, docs/mailbox.md §3.8), through keelctl and the
# mailbox (tests/emu/mailbox_e2e.py). update_refusals: two test guests run while keelctl
# sends a bad-signature, an older-security-version, an other-arch, a truncated and an
# incompatible-handover-ABI keel.img (signed at test time with the key the image trusts):
# each is refused with its own error, audited, and both guests keep running; a good image
# verifies.
# keel_update_test(NAME SCENARIO LABEL TIMEOUT [extra mailbox_e2e.py args]): one
# mailbox_e2e.py live-update scenario with the images signed at test time.
function(keel_update_test name scenario label timeout)
  add_test(NAME ${name}
    COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/mailbox_e2e.py ${_mbox_args}
            --keel-sign $<TARGET_FILE:keel-sign> --elf ${KEEL_ELF_arm64}
            --sign-key ${CMAKE_BINARY_DIR}/keys/dev-signing.pem ${ARGN}
            --log ${CMAKE_BINARY_DIR}/logs/${name}.log ${scenario})
  set_tests_properties(${name} PROPERTIES LABELS ${label} TIMEOUT ${timeout} RUN_SERIAL TRUE)
endfunction()
keel_update_test(arm64.update_refusals update_refusals qemu-arm64 300)
# update_rollback (docs/handover.md §4.7): an Apply the controller does not commit
# (keelctl update --no-commit, keel.update_commit_ms=8000): the new image runs the guests,
# refuses another update meanwhile, then at its deadline rolls back by itself to the old
# image, restored as loaded where it first ran, which adopts the guests as they are and
# stays; no memory lost, the session and audit chain continue, a later update commits.
keel_update_test(arm64.update_rollback update_rollback qemu-arm64 300)
# update_linux: two Linux VMs (1 and 2 vCPUs, console echo) while five live updates
# alternate a visibly newer image (its note says 0.2.0-next) and 0.1.0: every vCPU parks at
# EL2, the handover record is written and checked, the new image runs relocated from the
# run slot, adopts every VM, takes every core over and resumes every vCPU, and keelctl
# commits it; after each both guests still echo a line typed into them, and at the end each
# guest's own check finds its memory unchanged (md5 of 8 MiB) and its longest clock gap.
keel_mailbox_linux_test(arm64.update_linux update_linux --timeout 360
  --keel-sign $<TARGET_FILE:keel-sign> --elf ${KEEL_ELF_arm64}
  --sign-key ${CMAKE_BINARY_DIR}/keys/dev-signing.pem --log ${CMAKE_BINARY_DIR}/logs/arm64.update_linux.log)
set_tests_properties(arm64.update_linux PROPERTIES LABELS qemu-arm64 TIMEOUT 480 RUN_SERIAL TRUE)
# update_vf: an update while a VF does DMA loses no I/O. A Linux VM owns SR-IOV NVMe VF
# 00:02.1 (behind the SMMUv3, MSIs through the ITS; the hotplug machine of
# arm64_mailbox.tests.cmake) and writes, reads back and compares 4 KiB blocks on it in a loop
# while three committed live updates alternate 0.2.0-next and 0.1.0, a test guest beside it:
# each new image also adopts the I/O state (`handover: I/O adopted: ... (1 owned)`), the loop
# goes on with no error and no round near the nvme driver's 30 s timeout, no timeout in the
# guest's log; under the last image detach-vf (FLR, the adopted stream quarantined), a
# hot-add with I/O, the reset at the VM's end; every block the loop wrote is in the file.
# The test appends this tree's tests/guest/linux/init to the initramfs.
keel_mailbox_linux_test(arm64.update_vf update_vf --timeout 420
  --keel-sign $<TARGET_FILE:keel-sign> --elf ${KEEL_ELF_arm64}
  --sign-key ${CMAKE_BINARY_DIR}/keys/dev-signing.pem --log ${CMAKE_BINARY_DIR}/logs/arm64.update_vf.log)
set_tests_properties(arm64.update_vf PROPERTIES LABELS qemu-arm64 TIMEOUT 600 RUN_SERIAL TRUE)
# The first step of the swap (docs/handover.md §1.4): the image is a static PIE that relocates
# itself. Loaded 64 MiB above RAM base (0x44000000) instead of at its linked 0x40200000, its
# entry applies every R_AARCH64_RELATIVE, it boots and runs two test-guest VMs. VM 1 gets the
# pool's first block, 0x40000000, which covers the linked address, and writes a pattern over
# all of its RAM (guest:scan): nothing of the image may still be in use there. The crypto
# self-check (tables of function pointers) runs meanwhile and must not fail.
keel_emu_test(NAME arm64.update_relocated_boot LABEL qemu-arm64 TIMEOUT 60 ARGS
  --machine qemu-arm64 --image ${KEEL_IMAGE_arm64} --load-offset 0x4000000 --smp 4 --mem 1G
  --wait-exit --exit-code 0
  --fail "guest: ERROR" --fail "ram check: NOT zero" --fail "ram scan: NOT zero" --fail "pool leaked"
  --fail "self-check FAILED" # it runs while the guests do: its line has no fixed place
  --append "keel.vm=cpus:1,mem:64M,guest:scan keel.vm=cpus:2-3,mem:128M"
  --expect "arm64: running at 0x44000000, linked at 0x40200000:"
  --expect "pool: free 0x40000000-0x43ffffff (64 MiB)"
  --expect "pool: free 0x44200000-0x47ffffff" # the image's own 2 MiB block stays out
  --expect "keel: first light complete"
  --expect "vm 1: created: cpus 0x2, 64 MiB at pa 0x40000000"
  --expect "[vm 1] guest: ram scan: pattern written to all of it"
  --expect "vm 2: summary: guest power-off"
  --expect "keel: all VMs ended"
  --expect "keel: power off")
# 20 consecutive live updates alternating two versions (0.1.0 and 0.2.0-next) with two test
# guests running: each new image adopts everything, stays and is committed; the pool's free
# memory is the same after every commit, the guests are alive at the end, one keelctl
# session served all of it, the audit chain verifies.
keel_update_test(arm64.update_many update_many long 420 --rounds 20 --timeout 300)
