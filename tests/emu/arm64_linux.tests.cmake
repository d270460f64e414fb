# Unmodified Debian arm64 Linux guests under Keel (issue 3). The kernel and initramfs
# come from tools/fetch-guests.sh (${KEEL_CACHE}/guests); QEMU's loader device puts them
# in host RAM at 0x60000000 / 0x64000000 and the keel.vm= definitions name those ranges.
# Missing guest files make every test here FAIL with a message, never skip.
set(_keel_guests ${KEEL_GUESTS_DIR})
set(_lk ${_keel_guests}/Image-arm64)
set(_lr ${_keel_guests}/initramfs-arm64.cpio.gz)
set(_linux_tests arm64.linux_two_vms arm64.linux_poweroff_frees arm64.linux_console_echo
  arm64.linux_sriov_pci_view arm64.linux_sriov_nvme arm64.sriov_io_bench)

if(NOT EXISTS ${_lk} OR NOT EXISTS ${_lr})
  foreach(_t ${_linux_tests})
    add_test(NAME ${_t} COMMAND sh -c "echo 'FAIL: guest Linux missing in ${_keel_guests}: run tools/fetch-guests.sh (or tools/setup.sh)'; exit 1")
    set_tests_properties(${_t} PROPERTIES LABELS qemu-arm64)
  endforeach()
  return()
endif()
# Re-configure when fetch-guests.sh rebuilds the initramfs (its size is in the definitions).
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_lr})
file(SIZE ${_lr} _lr_size)
set(_src "kernel:0x60000000,initrd:0x64000000+${_lr_size}")
set(_load -- -device loader,file=${_lk},addr=0x60000000,force-raw=on
             -device loader,file=${_lr},addr=0x64000000,force-raw=on)
set(_img ${KEEL_IMAGE_arm64})
set(_lfail --fail "Kernel panic" --fail "pool leaked" --fail "unhandled exit" --fail "rcu_sched detected stalls")

# Two Linux VMs side by side on -smp 4 (1 core + 2 cores): both reach init, and each
# sees exactly the cores and RAM it was given (nproc, /proc/iomem, MemTotal).
keel_emu_test(NAME arm64.linux_two_vms LABEL qemu-arm64 TIMEOUT 90 ARGS
  --machine qemu-arm64 --image ${_img} --smp 4 --mem 2G --wait-exit --exit-code 0 ${_lfail}
  --append "keel.vm=cpus:1,mem:256M,${_src},args:quiet keel.vm=cpus:2-3,mem:384M,${_src},args:quiet"
  --expect "vm 1: created: cpus 0x2, 256 MiB"
  --expect "vm 2: created: cpus 0xc, 384 MiB"
  --expect "vm 2: vcpu 1 running on cpu 3"
  --expect "keel: all VMs ended, pool 2008 MiB, baseline 2008 MiB"
  --expect "keel: power off"
  ${_load})
# keel-run matches markers in order; the per-VM markers are checked on the log below.
set_tests_properties(arm64.linux_two_vms PROPERTIES FIXTURES_SETUP linux_two_vms_log)
add_test(NAME arm64.linux_two_vms_guest_view COMMAND sh -c "
  f=${CMAKE_BINARY_DIR}/logs/arm64.linux_two_vms.log
  for m in '[vm 1] KEEL-GUEST: init up' '[vm 1] KEEL-GUEST: nproc 1' '[vm 1] KEEL-GUEST: ram 40000000-4fffffff : System RAM' \
           '[vm 2] KEEL-GUEST: init up' '[vm 2] KEEL-GUEST: nproc 2' '[vm 2] KEEL-GUEST: ram 40000000-57ffffff : System RAM' \
           '[vm 1] KEEL-GUEST: MemTotal:' '[vm 2] KEEL-GUEST: MemTotal:' 'vm 1: summary: guest power-off' 'vm 2: summary: guest power-off'; do
    grep -aqF \"\$m\" \$f || { echo \"missing: \$m\"; exit 1; }; done; grep -a KEEL-GUEST \$f")
set_tests_properties(arm64.linux_two_vms_guest_view PROPERTIES LABELS qemu-arm64 FIXTURES_REQUIRED linux_two_vms_log)

# A guest's power-off returns its core and memory: VM 3 waits for VM 1 and boots on the
# same core from the same blocks while VM 2 keeps running; the pool ends at baseline.
keel_emu_test(NAME arm64.linux_poweroff_frees LABEL qemu-arm64 TIMEOUT 150 ARGS
  --machine qemu-arm64 --image ${_img} --smp 4 --mem 2G --wait-exit --exit-code 0 ${_lfail}
  --append "keel.vm=cpus:1,mem:256M,${_src},args:quiet keel.vm=cpus:2-3,mem:384M,${_src},args:quiet keel.vm=cpus:1,mem:256M,after:1,${_src},args:quiet"
  --expect "vm 1: created: cpus 0x2, 256 MiB at pa 0x48200000"
  --expect "vm 1: destroyed (guest power-off)"
  --expect "vm 3: created: cpus 0x2, 256 MiB at pa 0x48200000"
  --expect "[vm 3] KEEL-GUEST: nproc 1"
  --expect "keel: all VMs ended, pool 2008 MiB, baseline 2008 MiB"
  ${_load})

# Console input reaches the guest through the emulated PL011's RX interrupt path and
# comes back echoed. The definition's input: waits in the VM's RX queue, invisible to
# the guest until its driver has opened RX (vuart.cpp), so the drain on open loses none.
keel_emu_test(NAME arm64.linux_console_echo LABEL qemu-arm64 TIMEOUT 90 ARGS
  --machine qemu-arm64 --image ${_img} --smp 2 --mem 1G --wait-exit --exit-code 0 ${_lfail}
  --append "keel.vm=cpus:1,mem:192M,${_src},args:quiet+keel.guest=echo,input:hello+bye"
  --expect "[vm 1] KEEL-GUEST: echo ready"
  --expect "[vm 1] echo: hello"
  --expect "[vm 1] echo: bye"
  --expect "vm 1: destroyed (guest power-off)"
  --expect "keel: all VMs ended"
  ${_load})

# Stress (label long, not in the default run): a 3-vCPU Linux VM booted three times in
# a row on the same cores (SMP bring-up, IPIs, TLB shootdowns, timers on every core),
# the interrupt paths of the 2-vCPU hang (vgic.cpp: maintenance interrupt retired
# before deactivation, SGI arriving while active). Run it under load to provoke races:
#   ctest -L long -R linux_smp --repeat until-fail:5
keel_emu_test(NAME arm64.linux_smp_reboots LABEL long TIMEOUT 240 ARGS
  --machine qemu-arm64 --image ${_img} --smp 4 --mem 2G --wait-exit --exit-code 0 ${_lfail}
  --append "keel.vm=cpus:1-3,mem:256M,${_src},args:quiet keel.vm=cpus:1-3,mem:256M,after:1,${_src},args:quiet keel.vm=cpus:1-3,mem:256M,after:2,${_src},args:quiet"
  --expect "[vm 1] KEEL-GUEST: nproc 3"
  --expect "vm 1: destroyed (guest power-off)"
  --expect "[vm 2] KEEL-GUEST: nproc 3"
  --expect "vm 2: destroyed (guest power-off)"
  --expect "[vm 3] KEEL-GUEST: nproc 3"
  --expect "vm 3: destroyed (guest power-off)"
  --expect "keel: all VMs ended, pool 2008 MiB, baseline 2008 MiB"
  ${_load})

# A Linux VM with an SR-IOV VF (issue 13; docs/sriov.md "Guest view", "Hot-plug"): unmodified
# Linux finds the generic ECAM host bridge in its device tree (buses 0-4), the four hot-plug
# root ports at 00:01.0-00:04.0 (pciehp takes each slot: hot-plug capable, surprise, no command
# completed, DLL link active reporting) and the VM's one function behind slot 1's port,
# the VF, at 01:00.0 with the PF's vendor and the VF's device id, class 010802h (NVMe) and
# BAR0 where Keel mapped it, kept in probe-only mode; its GICv3 driver takes the virtual
# GICv2m frame as the MSI controller (GICD_TYPER.LPIS is 0). (Debian builds the nvme driver
# as a module the shared initramfs does not carry: no driver binds here.)
keel_emu_test(NAME arm64.linux_sriov_pci_view LABEL qemu-arm64 TIMEOUT 150 ARGS
  --machine qemu-arm64 --image ${_img} --machine-opts ,iommu=smmuv3 --smp 2 --mem 1G
  --wait-exit --exit-code 0 ${_lfail}
  --append "keel.vm=cpus:1,mem:256M,vf:00:01.1,${_src},args:console=ttyAMA0"
  --expect "vm 1: VF 00:01.1 MSI-X: 1 vector -> ITS device 0x9"
  --expect "vm 1: VF 00:01.1 attached: stream 0x9"
  --expect "GICv2m: range[mem 0x08020000-0x08020fff], SPI[48:63]"
  --expect "pci-host-generic 3f000000.pcie:      MEM 0x0010000000..0x00103fffff -> 0x0010000000"
  --expect "PCI: OF: PROBE_ONLY enabled"
  --expect "pci-host-generic 3f000000.pcie: ECAM at [mem 0x3f000000-0x3f4fffff] for [bus 00-04]"
  --expect "pci 0000:00:01.0: [1b36:000c] type 01 class 0x060400"
  --expect "pci 0000:01:00.0: [1b36:0010] type 00 class 0x010802"
  --expect "pci 0000:01:00.0: BAR 0 [mem 0x10000000-0x10003fff]"
  --expect "pcieport 0000:00:01.0: pciehp: Slot #1 AttnBtn- PwrCtrl- MRL- AttnInd- PwrInd- HotPlug+ Surprise+"
  --expect "NoCompl+ IbPresDis- LLActRep+"
  --expect "[vm 1] KEEL-GUEST: init up"
  --expect "vm 1: VF 00:01.1 detached: FLR done, stream 0x9 quarantined"
  --expect "keel: all VMs ended"
  --expect "keel: power off"
  ${_load}
  -drive file=null-co://,if=none,id=nvm1,format=raw -device nvme-subsys,id=s0
  -device nvme,serial=pf0,subsys=s0,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2
  -device nvme-ns,drive=nvm1,nsid=1,detached=on)

# Unmodified Linux on its VF (issue 13; docs/sriov.md): two Linux VMs, each with its own VF
# and namespace (a file each, tests/emu/sriov_disks.py). The initramfs's nvme mode
# (tests/guest/linux/init) loads Debian's nvme driver, which binds the VF at 01:00.0, gets
# MSI-X through the virtual GICv2m frame (VF -> SMMU -> ITS -> LPI -> Keel -> SPI), and
# writes a 4 KiB pattern naming its VM to the namespace and reads it back; afterwards each
# file holds its own VM's pattern.
add_test(NAME arm64.linux_sriov_nvme COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/sriov_disks.py
  --timeout 200 --starts "1:KEEL-LINUX-NVME vm1 1000" --starts "2:KEEL-LINUX-NVME vm2 1000"
  --times "2:nvme nvme0: pci function 0000:01:00.0" --times "2:KEEL-GUEST: nvme: /dev/nvme0n1, 2048 sectors"
  --times "2:KEEL-GUEST: nvme: wrote 4096 bytes, read them back: match"
  --times "2:MSI 524288 Edge      nvme0q0, nvme0q1" --
  --machine qemu-arm64 --image ${_img} --machine-opts ,iommu=smmuv3 --smp 3 --mem 1G
  --wait-exit --exit-code 0 ${_lfail} --fail "nvme: read back DIFFERS" --fail "did not load"
  --fail "no /dev/nvme0n1" --log ${CMAKE_BINARY_DIR}/logs/arm64.linux_sriov_nvme.log
  --append "keel.vm=cpus:1,mem:256M,vf:00:01.1,${_src},args:keel.guest=nvme+keel.tag=vm1 keel.vm=cpus:2,mem:256M,vf:00:01.2,${_src},args:keel.guest=nvme+keel.tag=vm2"
  --expect "vm 1: VF 00:01.1 MSI-X: 1 vector -> ITS device 0x9"
  --expect "vm 2: VF 00:01.2 MSI-X: 1 vector -> ITS device 0xa"
  --expect "vm 1: summary: guest power-off" --expect "vm 2: summary: guest power-off"
  --expect "keel: all VMs ended"
  ${_load}
  -drive file=@NS1@,if=none,id=nvm1,format=raw -drive file=@NS2@,if=none,id=nvm2,format=raw
  -device nvme-subsys,id=s0
  -device nvme,serial=pf0,subsys=s0,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2
  -device nvme-ns,drive=nvm1,nsid=1,detached=on -device nvme-ns,drive=nvm2,nsid=2,detached=on)
set_tests_properties(arm64.linux_sriov_nvme PROPERTIES LABELS qemu-arm64 TIMEOUT 290)

# The SR-IOV I/O benchmark's own check (bench/sriov_io.sh --check; docs/sriov.md "Benchmark"):
# one small run of each side. Keel in bench mode (-smp 1, the Linux VM on the boot core, which
# then takes the VF's MSIs as LPIs in its vCPU loop and hands them over from there) with VF
# 00:01.1; bare QEMU's Linux enabling the VFs itself, provisioning VF 1 with NVMe
# Virtualization Management and Namespace Attachment (keel-nvme-bench provision) and binding
# nvme to it. Checks, per phase (sequential write and read, random reads): every I/O completed
# by exactly one interrupt in the guest, under Keel by exactly one MSI Keel injected (its
# counters after the guest's KEEL-BENCH marker lines), and no exit besides those MSIs and the
# guest's timer ticks.
add_test(NAME arm64.sriov_io_bench COMMAND sh ${CMAKE_SOURCE_DIR}/bench/sriov_io.sh --check
  ${CMAKE_BINARY_DIR} ${_keel_guests})
set_tests_properties(arm64.sriov_io_bench PROPERTIES LABELS qemu-arm64 TIMEOUT 300)
