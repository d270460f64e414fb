# SR-IOV and VT-d on x86 (issue 13; docs/sriov.md): q35 under TCG with QEMU 7.2's
# intel-iommu (legacy-mode DMA remapping, 39-bit second level, page walks not coherent)
# and the same SR-IOV NVMe PF as the arm64 tests, at 00:03.0. Keel reads the DMAR, drives
# the unit (every function blocked until assigned), claims the BARs firmware (SeaBIOS)
# left decoding, places the VF BARs in the boot memory map's PCI gap (no _CRS without
# AML), and provisions the VFs through the PF's admin queue, whose own domain maps only
# its three queue pages. The product image boots by Multiboot, as the x86 mailbox tests.
set(_x86_nvme
  -device intel-iommu
  -drive file=null-co://,if=none,id=nvm1,format=raw
  -drive file=null-co://,if=none,id=nvm2,format=raw
  -device nvme-subsys,id=s0
  -device nvme,serial=pf0,subsys=s0,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2,addr=0x3
  -device nvme-ns,drive=nvm1,nsid=1,detached=on
  -device nvme-ns,drive=nvm2,nsid=2,detached=on)
set(_x86_sriov_args --machine qemu-x86_64 --machine-type q35 --cpu max --smp 2 --mem 512M
  --fail "FAILED" --fail "NOT provisioned" --fail "not used:")

# DMA isolation through VT-d with keel.test=vf_dma (hypervisor/io/vf_dma_check.cpp, the
# same check as arm64.sriov_smmu_fault): VF 00:03.1 gets a domain mapping IOVA 0x40000000
# onto three pages of the image; Identify into the mapped IOVA delivers the VF's own
# controller data, Identify into an unmapped IOVA (a canary page's physical address)
# faults at the unit with the VF's requester ID and that address and the canary stays
# unchanged; VF 00:03.2, never attached, faults on its first fetch (no context entry).
# VF 00:03.1 leaves with an FLR and its context entry cleared. Then a VM asking for VF
# 00:03.1 (`vf:`) gets it (its MSI-X vector an IRTE for the VF's source id, its domain IOVA =
# the VM's guest-physical addresses from 1 GiB, BAR0 at 0xc0000000); its raw test guest runs
# its checks and powers off, the VF leaves with an FLR, and the next VM, on another core,
# runs after it and ends: the hypervisor kept serving.
keel_emu_test(NAME x86_64.sriov_vtd_fault LABEL qemu-x86_64 TIMEOUT 90 ARGS ${_x86_sriov_args}
  --smp 3 --image ${KEEL_IMAGE_x86_64} --wait-exit --exit-code 1
  --append "keel.test=vf_dma keel.vm=cpus:1,mem:4M,vf:00:03.1 keel.vm=cpus:2,mem:4M,after:1"
  --expect "platform: vt-d 0 base 0xfed90000 segment 0, 6 functions listed"
  --expect "platform: dmar: 39-bit DMA addresses, interrupt remapping supported, 0 RMRRs"
  --expect "vt-d: unit at 0xfed90000 enabled: CAP 0x"
  --expect "3-level second-level tables (walks not coherent), queued invalidation, every function blocked until assigned"
  --expect "vt-d: interrupt remapping on: 256 entries, none present, compatibility-format interrupts blocked"
  --expect "sriov: PF 00:03.0: TotalVFs 2, NumVFs 2, VF offset 1 stride 1"
  --expect "vt-d: PF 00:03.0 stream 0x18: its admin queue pages only"
  --expect "nvme: PF 00:03.0: 2 of 2 VFs provisioned"
  --expect "vf-dma: VF 00:03.1 stream 0x19 attached: iova 0x40000000 -> "
  --expect "vf-dma: VF admin queue at iova 0x40000000: ok"
  --expect "vf-dma: identify, mapped, iova 0x40002000: status sct 0 sc 0x0"
  --expect "vf-dma: data arrived through the VT-d unit: controller id 1, model"
  --expect "vf-dma: identify, unmapped, iova 0x"
  --expect "(the unmapped iova) unchanged"
  --expect "vt-d: fault write not allowed (0x5) source 00:03.1 iova 0x"
  --expect "vt-d: fault context entry not present (0x2) source 00:03.2"
  --expect "vf-dma: VF 00:03.1 FLR: ok, command 0x6 -> 0x0, controller CSTS.RDY 1 -> 0"
  --expect "vf-dma: VF 00:03.1 detached: ok, the hypervisor continues"
  --expect "vm 1: VF 00:03.1 MSI-X: 1 vector -> VT-d IRTEs for source 0x19, host vectors from 64"
  --expect "vm 1: VF 00:03.1 attached: stream 0x19 iova 0x40000000 -> "
  --expect "[vm 1] hello from a 64-bit guest under SVM: vm 1"
  --expect "vm 1: VF 00:03.1 detached: FLR done, stream 0x19 quarantined (context entry cleared, context cache + IOTLB invalidated)"
  --expect "[vm 2] hello from a 64-bit guest under SVM: vm 2"
  --expect "vm 2: summary: guest power-off"
  --expect "keel: power off (status 0)"
  -- ${_x86_nvme})

# The product image with the mailbox beside the SR-IOV PF: the VF BARs and then the
# mailbox's BARs land in the PCI gap, clear of each other and of what firmware placed;
# a check of the boot log up to the mailbox waiting for its controller (the mailbox
# scenarios with keelctl run in x86_64.mailbox_*).
keel_emu_test(NAME x86_64.sriov_provision LABEL qemu-x86_64 TIMEOUT 90 ARGS ${_x86_sriov_args}
  --image ${KEEL_PRODUCT_IMAGE_x86_64}
  --expect " ranges firmware left decoding claimed"
  --expect "sriov: VF BAR0: 16 KiB per VF, 2 VFs from 0x"
  --expect "nvme: VF 00:03.1 secondary controller 1 online (VQ 2, VI 1), namespace 1 attached"
  --expect "nvme: VF 00:03.2 secondary controller 2 online (VQ 2, VI 1), namespace 2 attached"
  --expect "(NVMe 1.4) controller 1 provisioned"
  --expect "(NVMe 1.4) controller 2 provisioned"
  --expect "mailbox: ivshmem 00:04.0, BAR2 4 MiB at"
  --expect "mailbox: ready, waiting for the controller"
  -- ${_x86_nvme} -object memory-backend-ram,id=mbox,size=4M -device ivshmem-plain,memdev=mbox,addr=0x4)

# DMA isolation driven by a guest (issue 13; docs/sriov.md "x86: a VF in a Linux VM"): the
# x86 test guest's nvme mode (tests/guest/x86_64/vm/nvme.c, raw PRPs, polled) finds its VF at
# 01:00.0 through Keel's guest ECAM, Identifies into its RAM, writes a pattern naming it to
# LBA 0 and reads it back, then makes its VF write (Identify) into and read (a Write's data)
# from an address past its RAM: the VT-d unit refuses both with the VF's source id, Keel
# charges them to the owner, LBA 8 stays zero. VM 2 runs its whole check suite beside it
# (its memory is its own). VM 1's end resets the VF and clears its context entry; VM 3 then
# gets the same VF, with its own memory (the next owner sees no stale mapping: its pattern
# is what the namespace holds, its faults are its own addresses).
add_test(NAME x86_64.sriov_vm_isolation COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/sriov_disks.py
  --timeout 90 --holds "1:KEEL-VF-PATTERN vm 3" --zero 1:8
  --times "1:vt-d: fault write not allowed (0x5) source 00:03.1 iova 0x44200000 write"
  --times "1:vt-d: stream 0x19 is VF 00:03.1, owned by vm 1"
  --times "1:vt-d: fault write not allowed (0x5) source 00:03.1 iova 0x48200000 write"
  --times "1:vt-d: stream 0x19 is VF 00:03.1, owned by vm 3"
  --times "1:[vm 2] all checks passed" --
  --machine qemu-x86_64 --machine-type q35 --cpu max --smp 3 --mem 512M --image ${KEEL_IMAGE_x86_64}
  --wait-exit --exit-code 1 --fail "FAILED" --fail "NOT provisioned" --fail "ERROR" --fail "FAIL:"
  --log ${CMAKE_BINARY_DIR}/logs/x86_64.sriov_vm_isolation.log
  --append "keel.vm=cpus:1,mem:64M,guest:nvme,vf:00:03.1 keel.vm=cpus:2,mem:64M keel.vm=cpus:1,mem:128M,guest:nvme,vf:00:03.1,after:1"
  --expect "vm 1: VF 00:03.1 attached: stream 0x19 iova 0x40000000 -> "
  --expect "(64 MiB), BAR0 at ipa 0xc0000000"
  --expect "[vm 1] guest: pci: 01:00.0 id 0x101b36 class 0x10802 BAR0 0xc0000000"
  --expect "[vm 1] guest: nvme: BAR0 at 0xc0000000, version 1.4"
  --expect "[vm 1] guest: nvme: identify into its RAM: status 0x0, controller id 1"
  --expect "[vm 1] guest: nvme: wrote 4 KiB to LBA 0, status 0x0; read back, status 0x0: pattern matches"
  --expect "[vm 1] guest: nvme: LBA 8 read back, status 0x0: no bytes from outside its RAM"
  --expect "vm 1: VF 00:03.1 detached: FLR done, stream 0x19 quarantined (context entry cleared"
  --expect "vm 1: destroyed (guest power-off)"
  --expect "vm 3: VF 00:03.1 attached: stream 0x19 iova 0x40000000 -> "
  --expect "(128 MiB), BAR0 at ipa 0xc0000000"
  --expect "[vm 3] guest: nvme: wrote 4 KiB to LBA 0, status 0x0; read back, status 0x0: pattern matches"
  --expect "[vm 3] guest: nvme: LBA 8 read back, status 0x0: no bytes from outside its RAM"
  --expect "vm 3: VF 00:03.1 detached: FLR done, stream 0x19 quarantined"
  --expect "vm 1: summary: guest power-off" --expect "vm 2: summary: guest power-off"
  --expect "vm 3: summary: guest power-off"
  --expect "keel: all VMs ended, pool "
  --expect "keel: power off (status 0)"
  -- -device intel-iommu -drive file=@NS1@,if=none,id=nvm1,format=raw
     -drive file=null-co://,if=none,id=nvm2,format=raw -device nvme-subsys,id=s0
     -device nvme,serial=pf0,subsys=s0,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2,addr=0x3
     -device nvme-ns,drive=nvm1,nsid=1,detached=on -device nvme-ns,drive=nvm2,nsid=2,detached=on)
set_tests_properties(x86_64.sriov_vm_isolation PROPERTIES LABELS qemu-x86_64 TIMEOUT 180)
