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
  --expect "sriov: PF 00:01.0: TotalVFs 2, NumVFs 2, VF offset 1 stride 1, VF device 0x10, VFs enabled (capability at 0x120)"
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

# DMA isolation through the SMMUv3 (virt,iommu=smmuv3: stage 1 only in QEMU 7.2), with
# keel.test=vf_dma (hypervisor/io/vf_dma_check.cpp): the PF's stream reaches only its
# admin queue pages (provisioning still works through it); VF 00:01.1's stream is
# attached with IOVA 0x40000000 (the guest RAM base) onto three pages of the image, and
# Keel drives the VF's admin queue there: Identify into a mapped IOVA delivers the VF's own
# controller data, Identify into an unmapped IOVA (the physical address of a canary page
# in the image) faults at the SMMU with the VF's stream id (0x9) and that address, and the
# canary is unchanged; VF 00:01.2, never attached, aborts on its first fetch
# (C_BAD_STE, stream 0xa). VF 00:01.1 leaves with an FLR (bus mastering off, its
# still-enabled controller reset) and its stream back to abort. Then a VM boots, runs and
# ends: the hypervisor kept serving.
keel_emu_test(NAME arm64.sriov_smmu_fault LABEL qemu-arm64 TIMEOUT 90 ARGS
  --machine qemu-arm64 --image ${_img} --machine-opts ,iommu=smmuv3 --smp 2 --wait-exit --exit-code 0
  --append "keel.test=vf_dma keel.vm=cpus:1,mem:64M" --fail "FAILED" --fail "guest: ERROR"
  --expect "platform: smmu 0 base 0x9050000"
  --expect "platform: pci rids 0x0-0xffff: smmu 0 streams 0x0"
  --expect "smmu: SMMUv3 at 0x9050000 enabled: IDR0 0xd40101a (stage 1 only), 256 streams"
  --expect "smmu: PF 00:01.0 stream 0x8: its admin queue pages only"
  --expect "nvme: PF 00:01.0: 2 of 2 VFs provisioned"
  --expect "vf-dma: VF 00:01.1 stream 0x9 attached: iova 0x40000000 -> "
  --expect "vf-dma: VF admin queue at iova 0x40000000: ok"
  --expect "vf-dma: identify, mapped, iova 0x40002000: status sct 0 sc 0x0"
  --expect "vf-dma: data arrived through the SMMU: controller id 1, model"
  --expect "vf-dma: identify, unmapped, iova 0x4"
  --expect "vf-dma: memory at pa 0x4" --expect "(the unmapped iova) unchanged"
  --expect "smmu: event F_TRANSLATION (0x10) stream 0x9 iova 0x4"
  --expect "smmu: event C_BAD_STE (0x4) stream 0xa"
  --expect "vf-dma: VF 00:01.1 FLR: ok, command 0x6 -> 0x0, controller CSTS.RDY 1 -> 0"
  --expect "vf-dma: VF 00:01.1 detached: ok, the hypervisor continues"
  --expect "[vm 1] guest: powering off"
  --expect "keel: all VMs ended, pool 508 MiB, baseline 508 MiB"
  --expect "keel: power off (status 0)"
  -- ${_nvme_pf} ${_ns2})

# An ACPI boot (firmware describes the machine in ACPI only): the bridge windows are in the
# DSDT's AML, which Keel does not interpret, so the PF's VFs are not enabled, with the
# reason on the console, and everything else boots as before (the demo disk's two VMs).
keel_emu_test(NAME uefi.arm64.acpi_sriov_skipped LABEL "qemu-arm64;uefi" TIMEOUT 90 ARGS
  --machine qemu-arm64 --uefi ${CMAKE_BINARY_DIR}/uefi/demo-arm64/disk.img --acpi --smp 4 --mem 1G
  --wait-exit --exit-code 0 --fail "pool leaked" --fail "VFs enabled"
  --expect "platform: described by ACPI (no device tree)"
  --expect "sriov: PF 00:02.0: no PCIe bridge windows known (an ACPI boot): VFs not enabled"
  --expect "vm 1: summary: guest power-off" --expect "vm 2: summary: guest power-off"
  --expect "keel: all VMs ended" --expect "keel: power off"
  -- ${_nvme_pf})

# VFs given to VMs (docs/sriov.md "Assignment"): keel.vm= ... vf:<bdf> with the test guest's
# nvme mode (tests/guest/arm64/nvme.c: raw PRPs, no interrupts, BAR0 at guest 0x10000000),
# each namespace backed by a file tests/emu/sriov_disks.py makes and checks afterwards.
set(_vf_disks
  -drive file=@NS1@,if=none,id=nvm1,format=raw -drive file=@NS2@,if=none,id=nvm2,format=raw
  -device nvme-subsys,id=s0
  -device nvme,serial=pf0,subsys=s0,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2
  -device nvme-ns,drive=nvm1,nsid=1,detached=on -device nvme-ns,drive=nvm2,nsid=2,detached=on)
set(_vf_run --machine qemu-arm64 --image ${_img} --machine-opts ,iommu=smmuv3 --smp 3
  --wait-exit --exit-code 0 --fail "guest: ERROR" --fail "refused" --fail "FAILED")

# Isolation and reuse. VM 1 owns VF 00:01.1. Its PCI view through the guest ECAM: nothing
# at 00:00.0 or 00:05.0, slot 1's root port at 00:01.0 (class 060400h, secondary bus 1), the
# VF behind it at 01:00.0 with the PF's vendor (1b36h) and the VF device id
# (0010h), class 010802h, BAR0 at 0x10000000 sizing to 16 KiB, the MSI-X capability; its
# MSI-X table (BAR0 + 2000h) is the guest's own trapped copy: what it writes there reads back,
# while the device's entry, read by Keel before the reset, holds what Keel put there (the
# ITS doorbell, event 0), never the guest's frame address. Identify into its RAM returns the VF's own
# controller data, a 4 KiB pattern goes to LBA 0 of its namespace and back; then Identify
# into an IPA past its RAM and a Write whose data lies there: the SMMU faults on stream 0x9 at
# that IOVA (reported after boot, charged to vm 1) and LBA 8 stays zero. VM 2, with no VF,
# runs beside it unaffected. At VM 1's end the VF is reset (FLR) and its stream quarantined
# before the memory goes back to the pool; VM 3 (after VM 1, 128 MiB elsewhere in the pool)
# gets the same VF with a fresh translation of its own memory: its Identify data lands in
# its RAM (a stale translation would put it in VM 1's freed memory: controller id 0), its
# fault is at its own first IOVA past its RAM (0x48200000; 0x44200000 is now inside it). The
# disk then holds VM 3's pattern at LBA 0 and zeros at LBA 8.
# MSI-X end to end (docs/sriov.md "MSI-X"): the guest aims vector 0 at its GICv2m frame
# (first SPI from MSI_TYPER), enables MSI-X and that SPI, and one read's completion arrives
# as SPI 48: VF MSI write -> SMMU (the doorbell page) -> physical ITS -> LPI 8192 on the
# boot core -> the guest's table entry -> its vGIC. With the vector masked the message is held:
# the PBA shows its Pending Bit, and unmasking sends it (PCI Local Bus 3.0 §6.8.3.4).
add_test(NAME arm64.sriov_vm_isolation COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/sriov_disks.py
  --timeout 150 --holds "1:KEEL-VF-PATTERN vm 3" --zero 1:8 --
  ${_vf_run} --log ${CMAKE_BINARY_DIR}/logs/arm64.sriov_vm_isolation.log
  --append "keel.vm=cpus:1,mem:64M,guest:nvme,vf:00:01.1 keel.vm=cpus:2,mem:64M keel.vm=cpus:1,mem:128M,guest:nvme,vf:00:01.1,after:1"
  --expect "its: ITS at 0x8080000 enabled: LPIs 8192..8255 on the boot core, doorbell 0x8090040"
  --expect "vm 1: VF 00:01.1 MSI-X: 1 vector -> ITS device 0x9, LPIs from 8192, guest frame SPIs 48..63"
  --expect "vm 1: VF 00:01.1 attached: stream 0x9 iova 0x40000000 -> "
  --expect "(64 MiB), BAR0 at ipa 0x10000000"
  --expect "[vm 1] guest: pci: 00:00.0 0xffffffff, 00:05.0 0xffffffff, 00:01.0 class 0x60400 bus 0x1, 01:00.0 id 0x101b36 class 0x10802"
  --expect "[vm 1] guest: pci: 01:00.0 BAR0 0x10000000 size 0x4000 cap 0x40 msix 0x11 command 0x6"
  --expect "[vm 1] guest: pci: msi-x table at BAR0+0x2000 vector control 0x1 -> 0x0, address 0x8020040, data 0x30, pba 0x0"
  --expect "[vm 1] guest: nvme: BAR0 at 0x10000000, version 1.4"
  --expect "[vm 1] guest: nvme: identify into its RAM: status 0x0, controller id 1, model \"QEMU\""
  --expect "[vm 1] guest: nvme: wrote 4 KiB to LBA 0, status 0x0; read back, status 0x0: pattern matches"
  --expect "smmu: event F_TRANSLATION (0x10) stream 0x9 iova 0x44200000 write"
  --expect "smmu: stream 0x9 is VF 00:01.1, owned by vm 1"
  --expect "[vm 1] guest: nvme: msi frame SPIs 48+16; read status 0x0"
  --expect "[vm 1] guest: nvme: MSI-X vector 0 arrived as SPI 48"
  --expect "[vm 1] guest: nvme: masked vector 0: read status 0x0, no interrupt, PBA 0x1; unmasked: intid 48, PBA 0x0"
  --expect "vm 1: VF 00:01.1 MSI-X entry 0 in the device: address 0x8090040, data 0x0, unmasked"
  --expect "vm 1: VF 00:01.1 detached: FLR done, stream 0x9 quarantined (abort, CFGI_STE + TLBI + SYNC)"
  --expect "vm 1: destroyed (guest power-off)"
  --expect "vm 3: VF 00:01.1 attached: stream 0x9 iova 0x40000000 -> "
  --expect "(128 MiB), BAR0 at ipa 0x10000000"
  --expect "[vm 3] guest: nvme: identify into its RAM: status 0x0, controller id 1"
  --expect "[vm 3] guest: nvme: wrote 4 KiB to LBA 0, status 0x0; read back, status 0x0: pattern matches"
  --expect "smmu: event F_TRANSLATION (0x10) stream 0x9 iova 0x48200000 write"
  --expect "smmu: stream 0x9 is VF 00:01.1, owned by vm 3"
  --expect "[vm 3] guest: nvme: MSI-X vector 0 arrived as SPI 48"
  --expect "vm 3: VF 00:01.1 detached: FLR done, stream 0x9 quarantined"
  --expect "vm 1: summary: guest power-off" --expect "vm 2: summary: guest power-off"
  --expect "vm 3: summary: guest power-off"
  --expect "keel: all VMs ended, pool 508 MiB, baseline 508 MiB"
  --expect "keel: power off (status 0)"
  -- ${_vf_disks})

# Two VMs side by side, each with its own VF and namespace: each pattern reaches its own
# namespace's file only (the VFs' controllers see one namespace each, Keel's attachment).
add_test(NAME arm64.sriov_vm_two_disks COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/sriov_disks.py
  --timeout 150 --holds "1:KEEL-VF-PATTERN vm 1" --holds "2:KEEL-VF-PATTERN vm 2" --zero 1:8 --zero 2:8
  --times "2:read back, status 0x0: pattern matches" --times "2:MSI-X vector 0 arrived as SPI 48"
  --times "1:smmu: event F_TRANSLATION (0x10) stream" --
  ${_vf_run} --log ${CMAKE_BINARY_DIR}/logs/arm64.sriov_vm_two_disks.log
  --append "keel.vm=cpus:1,mem:64M,guest:nvme,vf:00:01.1 keel.vm=cpus:2,mem:64M,guest:nvme,vf:00:01.2"
  --expect "vm 1: VF 00:01.1 attached: stream 0x9" --expect "vm 2: VF 00:01.2 attached: stream 0xa"
  --expect "vm 1: summary: guest power-off" --expect "vm 2: summary: guest power-off"
  --expect "keel: all VMs ended, pool 508 MiB, baseline 508 MiB"
  -- ${_vf_disks})
# A VF refused at boot: the PF, an unknown function, the same VF twice (the second VM is
# refused with the reason, the first runs).
keel_emu_test(NAME arm64.sriov_vm_refusals LABEL qemu-arm64 TIMEOUT 90 ARGS
  ${_boots_and_ends} --machine-opts ,iommu=smmuv3 --smp 4 --fail "guest: ERROR"
  --append "keel.vm=cpus:1,mem:64M,vf:00:01.0 keel.vm=cpus:1,mem:64M,vf:00:07.1 keel.vm=cpus:1,mem:64M,vf:00:01.1 keel.vm=cpus:2,mem:64M,vf:00:01.1 keel.vm=cpus:3,mem:64M,vf:00:01.2"
  --expect "vm 1: VF 00:01.0 refused: a physical function is never assignable"
  --expect "vm 2: VF 00:07.1 refused: no VF at that address"
  --expect "vm 3: VF 00:01.1 attached"
  --expect "vm 4: VF 00:01.1 refused: VF owned by another VM"
  --expect "vm 5: VF 00:01.2 refused: VF not provisioned by Keel"
  --expect "vm 3: summary: guest power-off"
  --expect "keel: all VMs ended, pool 508 MiB, baseline 508 MiB"
  -- ${_nvme_pf})
set_tests_properties(arm64.sriov_vm_isolation arm64.sriov_vm_two_disks PROPERTIES
  LABELS qemu-arm64 TIMEOUT 240)
