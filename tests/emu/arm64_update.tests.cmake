# Live update (issue 14; docs/handover.md, docs/mailbox.md §3.8), through keelctl and the
# mailbox (tests/emu/mailbox_e2e.py). update_refusals: two test guests run while keelctl
# sends a bad-signature, an older-security-version, an other-arch, a truncated and an
# incompatible-handover-ABI keel.img (signed at test time with the key the image trusts):
# each is refused with its own error, audited, and both guests keep running; a good image
# verifies.
add_test(NAME arm64.update_refusals
  COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/mailbox_e2e.py ${_mbox_args}
          --keel-sign $<TARGET_FILE:keel-sign> --elf ${KEEL_ELF_arm64}
          --sign-key ${CMAKE_BINARY_DIR}/keys/dev-signing.pem
          --log ${CMAKE_BINARY_DIR}/logs/arm64.update_refusals.log update_refusals)
set_tests_properties(arm64.update_refusals PROPERTIES LABELS qemu-arm64 TIMEOUT 300 RUN_SERIAL TRUE)
# update_linux: two Linux VMs (1 and 2 vCPUs, console echo) while UPDATE Apply runs five
# times with a visibly newer image (its note says 0.2.0-next): every vCPU parks at EL2 (state
# into its VM's context, stage 2 untouched), the handover record is written and checked, the
# boot core turns its MMU off and enters the new image, which runs relocated from the run
# slot, prints its version, checks the record and hands back (adoption is not built yet,
# docs/handover.md §4); every vCPU resumes; after each Apply both guests still echo a line
# typed into them. So this covers quiesce, record, the jump there and back and resume, not
# an adoption.
keel_mailbox_linux_test(arm64.update_linux update_linux --timeout 360
  --keel-sign $<TARGET_FILE:keel-sign> --elf ${KEEL_ELF_arm64}
  --sign-key ${CMAKE_BINARY_DIR}/keys/dev-signing.pem --log ${CMAKE_BINARY_DIR}/logs/arm64.update_linux.log)
set_tests_properties(arm64.update_linux PROPERTIES LABELS qemu-arm64 TIMEOUT 480 RUN_SERIAL TRUE)
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
# 20 consecutive Applies alternating two versions (0.1.0 and 0.2.0-next) with two test guests
# running: each version is entered in the run slot and hands back; the guests are alive at
# the end, one keelctl session served all of it, the audit chain verifies.
add_test(NAME arm64.update_many
  COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/mailbox_e2e.py ${_mbox_args}
          --keel-sign $<TARGET_FILE:keel-sign> --elf ${KEEL_ELF_arm64}
          --sign-key ${CMAKE_BINARY_DIR}/keys/dev-signing.pem --rounds 20 --timeout 300
          --log ${CMAKE_BINARY_DIR}/logs/arm64.update_many.log update_many)
set_tests_properties(arm64.update_many PROPERTIES LABELS long TIMEOUT 420 RUN_SERIAL TRUE)
