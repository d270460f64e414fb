# The controller mailbox on x86 (issue 12): q35 under TCG (-cpu max: the SVM backend) with
# an ivshmem-plain mailbox, the product image by Multiboot, driven by keelctl through
# tests/emu/mailbox_e2e.py --arch x86_64 exactly as the arm64 tests are; the VM payload is
# the in-tree x86 test guest through the bulk window. The same scenarios as arm64 apart
# from the one that needs the arm64 guest's modes (button); Linux: x86_64.mailbox_linux below.
set(_x86_mbox_args --arch x86_64 --image ${KEEL_PRODUCT_IMAGE_x86_64} --keelctl $<TARGET_FILE:keelctl>
    --guest ${CMAKE_BINARY_DIR}/x86_64/keel-x86-guest.bin)
foreach(_scenario lifecycle hostile logstate forge flood expiry topology)
  add_test(NAME x86_64.mailbox_${_scenario}
    COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/mailbox_e2e.py ${_x86_mbox_args} ${_scenario})
  set_tests_properties(x86_64.mailbox_${_scenario} PROPERTIES LABELS qemu-x86_64 TIMEOUT 240 RUN_SERIAL TRUE)
endforeach()

# Linux through the mailbox on x86 (tests/emu/mailbox_e2e.py linux_x86): two Debian amd64
# VMs (1 and 2 vCPUs) loaded through the bulk window boot to init; console input through
# the mailbox is echoed; each powers off through ACPI S5; cores and pool come back, and a
# third VM reuses the freed core and memory. Missing guests: FAIL with a message.
set(_x86_mbox_guests ${KEEL_GUESTS_DIR})
if(EXISTS ${_x86_mbox_guests}/bzImage-amd64 AND EXISTS ${_x86_mbox_guests}/initramfs-amd64.cpio.gz)
  add_test(NAME x86_64.mailbox_linux
    COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/mailbox_e2e.py ${_x86_mbox_args} --timeout 600
            --linux ${_x86_mbox_guests}/bzImage-amd64 --initrd ${_x86_mbox_guests}/initramfs-amd64.cpio.gz linux)
  # Hot-plug on x86 (sriov_scenarios.py hotplug_x86; docs/sriov.md "x86: a VF in a Linux
  # VM"): q35 + intel-iommu with the SR-IOV NVMe PF at 00:03.0; attach-vf to a running
  # Debian VM: pciehp adds the VF, nvme binds with MSI-X and writes and reads its namespace;
  # detach-vf of the running VM is refused (reason 12); the VF leaves with an FLR at its end.
  add_test(NAME x86_64.mailbox_hotplug
    COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/mailbox_e2e.py ${_x86_mbox_args} --timeout 500
            --linux ${_x86_mbox_guests}/bzImage-amd64 --initrd ${_x86_mbox_guests}/initramfs-amd64.cpio.gz hotplug)
  # x86_64.update_linux, live update with Linux on x86 (update_scenarios.py update_linux_x86; docs/handover.md
  # §5.1): two Debian amd64 VMs (1 and 2 vCPUs) echo console lines while three Applies of a
  # visibly newer image each park all three vCPUs, write the record, enter the image, which
  # runs relocated, checks it and hands back; every vCPU resumes where it parked; both echo
  # after each, and at the end each guest's own check finds its 8 MiB unchanged.
  # x86_64.update_vf, an update while a VF does DMA on x86 (update_scenarios.py update_vf, VfMachine; the
  # hotplug machine above, keel.update_commit_ms=8000): a Debian VM owns VF 00:03.1 (behind
  # the VT-d unit, its MSI-X through interrupt remapping) and writes, reads back and compares
  # 4 KiB blocks in a loop while three committed updates alternate 0.2.0-next and 0.1.0, a
  # test guest beside it; each new image adopts the unit, its routes, the VF and the VM's PCIe
  # view from the I/O region (`handover: I/O adopted: VT-d unit ... (1 owned)`); a fourth
  # update rolls back at its deadline; the loop goes on with no error throughout; detach-vf
  # (FLR, the adopted context entry cleared), a hot-add with I/O, the reset at the VM's end;
  # every block the loop wrote is in the file.
  # x86_64.SCENARIO with the Linux guest and the images signed at test time.
  foreach(_scenario update_linux update_vf)
    add_test(NAME x86_64.${_scenario}
      COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/mailbox_e2e.py ${_x86_mbox_args} --timeout 600
              --linux ${_x86_mbox_guests}/bzImage-amd64 --initrd ${_x86_mbox_guests}/initramfs-amd64.cpio.gz
              --keel-sign $<TARGET_FILE:keel-sign> --elf ${KEEL_ELF_x86_64}
              --sign-key ${CMAKE_BINARY_DIR}/keys/dev-signing.pem
              --log ${CMAKE_BINARY_DIR}/logs/x86_64.${_scenario}.log ${_scenario})
  endforeach()
else()
  foreach(_t x86_64.mailbox_linux x86_64.mailbox_hotplug x86_64.update_linux x86_64.update_vf)
    add_test(NAME ${_t} COMMAND sh -c "echo 'FAIL: guest Linux missing in ${_x86_mbox_guests}: run tools/fetch-guests.sh'; exit 1")
  endforeach()
endif()
set_tests_properties(x86_64.mailbox_linux PROPERTIES LABELS qemu-x86_64 TIMEOUT 700 RUN_SERIAL TRUE)
set_tests_properties(x86_64.mailbox_hotplug PROPERTIES LABELS qemu-x86_64 TIMEOUT 600 RUN_SERIAL TRUE)
set_tests_properties(x86_64.update_linux PROPERTIES LABELS qemu-x86_64 TIMEOUT 700 RUN_SERIAL TRUE)
set_tests_properties(x86_64.update_vf PROPERTIES LABELS qemu-x86_64 TIMEOUT 800 RUN_SERIAL TRUE)

# Live update on x86 (issue 14, docs/handover.md §5): the update region is reserved and
# UPDATE stages and verifies images exactly as on arm64 (keel.img variants signed at test
# time, tests/emu/update_scenarios.py update_refusals_x86): a bad signature, an older
# security version, the other arch, a truncated image, an incompatible handover ABI and an
# image larger than the region are each refused with its own error and audited while two
# test guests watch their TSC; the good image verifies; a failing image hands back, a newer
# one stays (committed by keelctl), both guests answer on their consoles throughout.
# keel_x86_update_test(SCENARIO [ARGS...]): x86_64.SCENARIO, one update scenario with the test
# guest and the images signed at test time; ARGS go to mailbox_e2e.py.
function(keel_x86_update_test scenario)
  add_test(NAME x86_64.${scenario}
    COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/mailbox_e2e.py ${_x86_mbox_args} ${ARGN}
            --keel-sign $<TARGET_FILE:keel-sign> --elf ${KEEL_ELF_x86_64}
            --sign-key ${CMAKE_BINARY_DIR}/keys/dev-signing.pem
            --log ${CMAKE_BINARY_DIR}/logs/x86_64.${scenario}.log ${scenario})
  set_tests_properties(x86_64.${scenario} PROPERTIES LABELS qemu-x86_64 TIMEOUT 300 RUN_SERIAL TRUE)
endfunction()
keel_x86_update_test(update_refusals)
# The trial and the rollback on x86 (docs/handover.md §4.7, update_scenarios.py
# update_rollback_x86; keel.update_commit_ms=8000): an Apply keelctl does not commit; the new
# image runs the guests and a VM created meanwhile, refuses another update, then at its
# deadline puts 0.1.0 back from its pristine copy and enters it where it first ran, which
# adopts all three guests and stays; the pool as before, the session and chain go on, and a
# later update commits.
keel_x86_update_test(update_rollback)
# An image of the previous handover ABI (7: no clock rates in the record; its note patched
# before boot, update_scenarios.py older_abi_image): an update from it to this build's image
# (8), which measures the TSC and LAPIC timer itself, the rollback to it in a record of 7, and
# a later committed update (docs/handover.md §2.1, §4.7).
keel_x86_update_test(update_rollback_abi7)
# 20 consecutive live updates alternating 0.2.0-next and 0.1.0 with two test guests watching
# their TSC (update_scenarios.py update_many): each new image adopts both, stays and is
# committed (check_swap_x86); the pool's free memory is the same after every commit; the
# guests answer every five updates and at the end; one keelctl session throughout; the audit
# chain verifies (~35 s).
keel_x86_update_test(update_many --rounds 20 --timeout 400)
set_tests_properties(x86_64.update_many PROPERTIES TIMEOUT 480)
