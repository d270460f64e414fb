# Live update (issue 14; docs/handover.md, docs/mailbox.md §3.8), through keelctl and the
# mailbox (tests/emu/mailbox_e2e.py). update_refusals: two test guests run while keelctl
# sends a bad-signature, an older-security-version, an other-arch, a truncated and an
# incompatible-handover-ABI keel.img (signed at test time with the key the image trusts):
# each is refused with its own error, audited, and both guests keep running; a good image
# verifies.
add_test(NAME arm64.update_refusals
  COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/mailbox_e2e.py ${_mbox_args}
          --keel-sign $<TARGET_FILE:keel-sign> --elf ${KEEL_ELF_arm64}
          --sign-key ${CMAKE_BINARY_DIR}/keys/dev-signing.pem update_refusals)
set_tests_properties(arm64.update_refusals PROPERTIES LABELS qemu-arm64 TIMEOUT 300 RUN_SERIAL TRUE)
# update_linux: two Linux VMs (1 and 2 vCPUs, console echo) while UPDATE Apply runs five
# times: every vCPU parks at EL2 (state into its VM's context, stage 2 untouched), the
# handover record is written and checked, every vCPU resumes; after each Apply both guests
# still echo a line typed into them. The jump into the new image is not built yet
# (docs/handover.md §4), so this covers quiesce, record and resume, not a swap.
keel_mailbox_linux_test(arm64.update_linux update_linux --timeout 360
  --keel-sign $<TARGET_FILE:keel-sign> --elf ${KEEL_ELF_arm64}
  --sign-key ${CMAKE_BINARY_DIR}/keys/dev-signing.pem)
set_tests_properties(arm64.update_linux PROPERTIES LABELS qemu-arm64 TIMEOUT 480 RUN_SERIAL TRUE)
