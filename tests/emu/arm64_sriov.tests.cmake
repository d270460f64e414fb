# SR-IOV on QEMU 7.2 (issue 13; docs/sriov.md): an NVMe PF with sriov_max_vfs in an
# NVMe subsystem, namespaces created detached so only Keel's attachment gives a secondary
# controller its namespace. The VFs must come up enabled, provisioned (Virtualization
# Management: VQ/VI resources assigned, online; read back with Identify), enumerated at
# their routing IDs with their BARs decoding (the NVMe version register read through
# each VF's BAR0), each with its own namespace (read back with Identify CNS 12h).
set(_img ${KEEL_IMAGE_arm64})
set(_nvme_pf
  -drive file=null-co://,if=none,id=nvm1,format=raw
  -drive file=null-co://,if=none,id=nvm2,format=raw
  -device nvme-subsys,id=s0
  -device nvme,serial=pf0,subsys=s0,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2
  -device nvme-ns,drive=nvm1,nsid=1,detached=on)
set(_ns2 -device nvme-ns,drive=nvm2,nsid=2,detached=on)
set(_boots_and_ends --machine qemu-arm64 --image ${_img} --wait-exit --exit-code 0
  --expect "keel: first light complete")

keel_emu_test(NAME arm64.sriov_provision LABEL qemu-arm64 TIMEOUT 60 ARGS
  ${_boots_and_ends} --fail "NOT provisioned" --fail "nvme: PF 00:01.0 admin queue"
  --expect "sriov: PF 00:01.0: TotalVFs 2, NumVFs 2, VF offset 1 stride 1, VF device 0x10, VFs enabled"
  --expect "sriov: VF BAR0: 16 KiB per VF, 2 VFs from 0x1000"
  --expect "nvme: PF 00:01.0 controller 0: flexible VQ 4 (0 assigned, at most 2 per secondary), VI 2 (0 assigned, at most 1)"
  --expect "nvme: VF 00:01.1 secondary controller 1 online (VQ 2, VI 1), namespace 1 attached (1 controller)"
  --expect "nvme: VF 00:01.2 secondary controller 2 online (VQ 2, VI 1), namespace 2 attached (1 controller)"
  --expect "nvme: PF 00:01.0: 2 of 2 VFs provisioned"
  --expect "sriov: VF 00:01.1 id ffffffff class 010802 stream 0x9 BAR0 0x1000"
  --expect "(NVMe 1.4) controller 1 provisioned"
  --expect "sriov: VF 00:01.2 id ffffffff class 010802 stream 0xa BAR0 0x1000"
  --expect "(NVMe 1.4) controller 2 provisioned"
  --expect "keel: power off (status 0)"
  -- ${_nvme_pf} ${_ns2})

# keel.sriov_vfs=1: NumVFs 1 of 2; the second VF never appears.
keel_emu_test(NAME arm64.sriov_one_vf LABEL qemu-arm64 TIMEOUT 60 ARGS
  ${_boots_and_ends} --append keel.sriov_vfs=1 --fail "00:01.2" --fail "NOT provisioned"
  --expect "sriov: PF 00:01.0: TotalVFs 2, NumVFs 1, VF offset 1 stride 1"
  --expect "nvme: VF 00:01.1 secondary controller 1 online (VQ 2, VI 1), namespace 1 attached"
  --expect "nvme: PF 00:01.0: 1 of 1 VFs provisioned" --expect "keel: power off (status 0)"
  -- ${_nvme_pf} ${_ns2})

# No namespace 2 in the subsystem: the device refuses the attachment, VF 2 stays
# unprovisioned (so it can never be assigned), VF 1 is unaffected and Keel boots on.
keel_emu_test(NAME arm64.sriov_missing_namespace LABEL qemu-arm64 TIMEOUT 60 ARGS
  ${_boots_and_ends} --expect "namespace 1 attached"
  --expect "nvme: attach namespace (controller 2): status sct"
  --expect "nvme: PF 00:01.0: 1 of 2 VFs provisioned"
  --expect "sriov: VF 00:01.1 id ffffffff" --expect "controller 1 provisioned"
  --expect "sriov: VF 00:01.2 id ffffffff" --expect "controller 0 NOT provisioned"
  --expect "keel: power off (status 0)"
  -- ${_nvme_pf})

# The mailbox next to an SR-IOV PF: it places its BARs clear of the PF's and VFs'
# apertures (drivers/pci/claims.hpp) and attaches.
keel_emu_test(NAME arm64.sriov_with_mailbox LABEL qemu-arm64 TIMEOUT 60 ARGS
  --machine qemu-arm64 --image ${KEEL_PRODUCT_IMAGE_arm64}
  --expect "nvme: PF 00:01.0: 2 of 2 VFs provisioned"
  --expect "mailbox: ivshmem 00:02.0, BAR2 4 MiB at"
  --expect "mailbox: ready, waiting for the controller"
  -- ${_nvme_pf} ${_ns2} -object memory-backend-ram,id=mbox,size=4M -device ivshmem-plain,memdev=mbox)
