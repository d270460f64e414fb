# Unmodified Debian amd64 Linux guests under Keel on QEMU q35/pc with AMD SVM + NPT (TCG
# `-cpu max`; issue 12). The bzImage and initramfs come from tools/fetch-guests.sh
# (${KEEL_CACHE}/guests); QEMU's loader device puts them in host RAM at 0x30000000 /
# 0x34000000 and the keel.vm= definitions name those ranges. The guest's init is the one
# the arm64 tests use (tests/guest/linux/init: KEEL-GUEST markers, keel.guest=echo).
# Missing guest files make every test here FAIL with a message, never skip.
set(_keel_guests ${KEEL_GUESTS_DIR})
set(_xk ${_keel_guests}/bzImage-amd64)
set(_xr ${_keel_guests}/initramfs-amd64.cpio.gz)
set(_x86_linux_tests x86_64.linux_two_vms x86_64.linux_console_echo x86_64.linux_bench_mode
  x86_64.linux_refusals x86_64.linux_refusals_size)

if(NOT EXISTS ${_xk} OR NOT EXISTS ${_xr})
  foreach(_t ${_x86_linux_tests})
    add_test(NAME ${_t} COMMAND sh -c "echo 'FAIL: guest Linux missing in ${_keel_guests}: run tools/fetch-guests.sh (or tools/setup.sh)'; exit 1")
    set_tests_properties(${_t} PROPERTIES LABELS qemu-x86_64)
  endforeach()
  return()
endif()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_xr})
file(SIZE ${_xr} _xr_size)
file(SIZE ${_xk} _xk_size)
set(_src "kernel:0x30000000,initrd:0x34000000+${_xr_size}")
set(_args "args:console=ttyS0+quiet")
set(_load -- -device loader,file=${_xk},addr=0x30000000,force-raw=on
             -device loader,file=${_xr},addr=0x34000000,force-raw=on)
set(_ximg ${KEEL_IMAGE_x86_64})
set(_xbase --machine qemu-x86_64 --image ${_ximg} --cpu max --wait-exit --exit-code 1
  --fail "Kernel panic" --fail "pool leaked" --fail "not handled" --fail "VMEXIT_INVALID"
  --fail "rcu_sched detected stalls" --fail "access outside its memory"
  --fail "Unable to read current time from RTC")

# Two Linux VMs side by side on -smp 4 (1 core + 2 cores): both reach init, and each sees
# exactly the cores and RAM it was given (nproc, /proc/iomem from GPA 0, MemTotal); VM 2
# brings its second vCPU online through INIT/SIPI into the real-mode trampoline below 1 MiB.
keel_emu_test(NAME x86_64.linux_two_vms LABEL qemu-x86_64 TIMEOUT 300 ARGS ${_xbase}
  --smp 4 --mem 2G
  --append "keel.vm=cpus:1,mem:256M,${_src},${_args} keel.vm=cpus:2-3,mem:384M,${_src},${_args}"
  --expect "x86_64: wall clock 20"
  --expect "vm 1: created: cpus 0x2, 256 MiB"
  --expect "vm 2: created: cpus 0xc, 384 MiB"
  --expect "vm 2: vcpu 1 on cpu 3: real-mode entry at"
  --expect "keel: all VMs ended, pool "
  --expect "keel: power off"
  ${_load})
set_tests_properties(x86_64.linux_two_vms PROPERTIES FIXTURES_SETUP x86_linux_two_vms_log)
add_test(NAME x86_64.linux_two_vms_guest_view COMMAND sh -c "
  f=${CMAKE_BINARY_DIR}/logs/x86_64.linux_two_vms.log
  for m in '[vm 1] KEEL-GUEST: init up' '[vm 1] KEEL-GUEST: nproc 1' '[vm 1] 00100000-0fffffff : System RAM' \
           '[vm 2] KEEL-GUEST: init up' '[vm 2] KEEL-GUEST: nproc 2' '[vm 2] 00100000-17ffffff : System RAM' \
           '[vm 1] KEEL-GUEST: MemTotal:' '[vm 2] KEEL-GUEST: MemTotal:' 'vm 1: summary: guest power-off' 'vm 2: summary: guest power-off'; do
    grep -aqF \"\$m\" \$f || { echo \"missing: \$m\"; exit 1; }; done; grep -a 'KEEL-GUEST\\|System RAM' \$f")
set_tests_properties(x86_64.linux_two_vms_guest_view PROPERTIES LABELS qemu-x86_64 FIXTURES_REQUIRED x86_linux_two_vms_log)

# Bench mode (`keel.bench`, bench/x86_linux_boot.sh): on a one-CPU machine the boot core
# turns on SVM and runs the VM's vCPU itself, then serves as the hypervisor's again; the
# first-entry TSC mark the benchmark reads is printed once the VM ends.
keel_emu_test(NAME x86_64.linux_bench_mode LABEL qemu-x86_64 TIMEOUT 240 ARGS ${_xbase}
  --smp 1 --mem 1G
  --append "keel.bench keel.vm=cpus:0,mem:256M,${_src},${_args}"
  --expect "keel: bench mode: VMs may use the boot core 0"
  --expect "vm 1: vcpu 0 on cpu 0: 64-bit entry at 0x0"
  --expect "[vm 1] KEEL-GUEST: init up"
  --expect "[vm 1] KEEL-GUEST: nproc 1"
  --expect "vm 1: guest power-off (ACPI S5)"
  --expect "vm 1: vcpu 0 first entry at tsc "
  --expect "keel: all VMs ended, pool "
  --expect "keel: power off (status 0)"
  ${_load})

# Console input reaches the guest through COM1's receive interrupt (16550A RX data ->
# I/O APIC pin 4 -> local APIC) and comes back echoed. The definition's input waits until
# the guest's driver enables receive interrupts.
keel_emu_test(NAME x86_64.linux_console_echo LABEL qemu-x86_64 TIMEOUT 240 ARGS ${_xbase}
  --smp 2 --mem 1G
  --append "keel.vm=cpus:1,mem:192M,${_src},${_args}+keel.guest=echo,input:hello+bye"
  --expect "[vm 1] KEEL-GUEST: echo ready"
  --expect "[vm 1] echo: hello"
  --expect "[vm 1] echo: bye"
  --expect "vm 1: destroyed (guest power-off)"
  --expect "keel: all VMs ended"
  ${_load})

# Bad bzImages are refused at start with their reason and change nothing else: VMs 1 and
# 2 (cores 1 and 3) are refused, boot protocol 2.00 (version field at 0x206) and a corrupt
# setup header (the jump at 0x200 is not EB xx), while VM 3 on core 2 boots Linux to init.
# Variants written by the setup test from the real bzImage. (Keel's command line holds
# 256 bytes with the image's path: the size refusals are the next test.)
set(_bad ${CMAKE_BINARY_DIR}/test-guests)
set(_big ${_keel_guests}/Image-arm64)
file(SIZE ${_big} _big_size)
add_test(NAME x86_64.linux_refusals_setup COMMAND python3 -c "
import os; os.makedirs('${_bad}', exist_ok=True); b = bytearray(open('${_xk}', 'rb').read())
o = bytearray(b); o[0x206:0x208] = (0x0200).to_bytes(2, 'little'); open('${_bad}/bzImage-oldproto', 'wb').write(o)
c = bytearray(b); c[0x200] = 0x90; open('${_bad}/bzImage-badhdr', 'wb').write(c)")
set_tests_properties(x86_64.linux_refusals_setup PROPERTIES LABELS qemu-x86_64 FIXTURES_SETUP x86_bad_bzimages)
keel_emu_test(NAME x86_64.linux_refusals LABEL qemu-x86_64 TIMEOUT 240 ARGS ${_xbase}
  --smp 4 --mem 2G
  --append "keel.vm=cpus:1,mem:10M,kernel:0x38000000 keel.vm=cpus:3,mem:10M,kernel:0x3c000000 keel.vm=cpus:2,mem:256M,${_src},args:console=ttyS0+quiet"
  --expect "vm 1: bzImage refused: boot protocol older than 2.12"
  --expect "vm 1: start on cpu 1 failed"
  --expect "vm 2: bzImage refused: inconsistent setup header"
  --expect "[vm 3] KEEL-GUEST: nproc 1"
  --expect "vm 3: destroyed (guest power-off)"
  --expect "keel: all VMs ended, pool "
  -- -device loader,file=${_xk},addr=0x30000000,force-raw=on
     -device loader,file=${_xr},addr=0x34000000,force-raw=on
     -device loader,file=${_bad}/bzImage-oldproto,addr=0x38000000,force-raw=on
     -device loader,file=${_bad}/bzImage-badhdr,addr=0x3c000000,force-raw=on)
set_tests_properties(x86_64.linux_refusals PROPERTIES FIXTURES_REQUIRED x86_bad_bzimages)

# The size refusals, beside a raw test guest running its whole suite on core 2: a kernel
# larger than the VM (16 MiB: init_size from the 16 MiB load address does not fit), and an
# initrd that overlaps the kernel (the 32 MiB arm64 Image as the initrd lands at 8 MiB,
# across the load address at 16 MiB).
keel_emu_test(NAME x86_64.linux_refusals_size LABEL qemu-x86_64 TIMEOUT 60 ARGS ${_xbase}
  --smp 3 --mem 2G
  --append "keel.vm=cpus:1,mem:4M keel.vm=cpus:1,mem:16M,after:1,kernel:0x30000000 keel.vm=cpus:1,mem:128M,after:1,kernel:0x30000000,initrd:0x40000000+${_big_size} keel.vm=cpus:2,mem:4M"
  --expect "vm 2: bzImage refused: kernel does not fit the VM's memory"
  --expect "vm 3: bzImage refused: initrd overlaps the kernel"
  --expect "vm 4: summary: guest power-off"
  --expect "keel: all VMs ended, pool "
  -- -device loader,file=${_xk},addr=0x30000000,force-raw=on
     -device loader,file=${_big},addr=0x40000000,force-raw=on)

# Unmodified Linux on its own NVMe VF (issue 13; docs/sriov.md "x86"): q35 with QEMU's
# intel-iommu and the SR-IOV NVMe PF at 00:03.0, two Linux VMs, each with its VF and namespace
# (a file each, tests/emu/sriov_disks.py). Each VF's VT-d domain and BAR mapping follow
# its VM's RAM to GPA 0 when the Linux VM starts (VmDevices::vm_moved). Each guest finds the ACPI PCI Express root bridge
# (PNP0A08, buses 0-4) with its MMCONFIG reserved by a PNP0C02 device, the four hot-plug
# root ports (pciehp granted by _OSC) and its VF at 01:00.0 with BAR0 where Keel mapped it;
# Debian's nvme driver binds, gets MSI-X (VF -> VT-d IRTE checked against the VF's source
# id -> host vector on the boot core -> the vector the guest programmed, on its virtual
# APIC), writes a 4 KiB pattern naming its VM and reads it back; afterwards each file
# holds its own VM's pattern. Each VF leaves with an FLR when its VM ends.
add_test(NAME x86_64.linux_sriov_nvme COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/emu/sriov_disks.py
  --timeout 240 --starts "1:KEEL-LINUX-NVME vm1 1000" --starts "2:KEEL-LINUX-NVME vm2 1000"
  --times "1:[vm 1] KEEL-GUEST: nvme: wrote 4096 bytes, read them back: match"
  --times "1:[vm 2] KEEL-GUEST: nvme: wrote 4096 bytes, read them back: match"
  --times "2:PCI: MMCONFIG at [mem 0xe0000000-0xe04fffff] reserved in ACPI motherboard resources"
  --times "2:ACPI: PCI Root Bridge [PCI0] (domain 0000 [bus 00-04])"
  --times "2:_OSC: OS now controls [PCIeHotplug SHPCHotplug PME AER PCIeCapability LTR]"
  --times "2:pci 0000:01:00.0: [1b36:0010] type 00 class 0x010802"
  --times "2:pci 0000:01:00.0: BAR 0 [mem 0xc0000000-0xc0003fff]"
  --times "2:pciehp: Slot #1 AttnBtn- PwrCtrl- MRL- AttnInd- PwrInd- HotPlug+ Surprise+"
  --times "2:nvme nvme0: pci function 0000:01:00.0"
  --times "2:KEEL-GUEST: nvme: /dev/nvme0n1, 2048 sectors"
  --times "2:PCI-MSI 524288-edge      nvme0q0, nvme0q1" --
  ${_xbase} --machine-type q35 --smp 4 --mem 1G --fail "nvme: read back DIFFERS" --fail "did not load"
  --fail "no /dev/nvme0n1" --fail "timeout, completion polled" --fail "vt-d: fault"
  --log ${CMAKE_BINARY_DIR}/logs/x86_64.linux_sriov_nvme.log
  --append "keel.vm=cpus:1,mem:256M,vf:00:03.1,${_src},args:keel.guest=nvme+keel.tag=vm1 keel.vm=cpus:2-3,mem:256M,vf:00:03.2,${_src},args:keel.guest=nvme+keel.tag=vm2"
  --expect "vt-d: interrupt remapping on: 256 entries, none present, compatibility-format interrupts blocked"
  --expect "vm 1: VF 00:03.1 MSI-X: 1 vector -> VT-d IRTEs for source 0x19, host vectors from 64, guest local APICs"
  --expect "vm 1: VF 00:03.1 attached: stream 0x19 iova 0x40000000 -> "
  --expect "vm 2: VF 00:03.2 MSI-X: 1 vector -> VT-d IRTEs for source 0x1a, host vectors from 65, guest local APICs"
  --expect "vm 2: VF 00:03.2 attached: stream 0x1a iova 0x40000000 -> "
  --expect "vm 1: VF 00:03.1 follows its RAM: iova 0x0 -> "
  --expect "vm 2: VF 00:03.2 follows its RAM: iova 0x0 -> "
  --expect "vm 1: VF 00:03.1 detached: FLR done, stream 0x19 quarantined (context entry cleared, context cache + IOTLB invalidated)"
  --expect "vm 1: summary: guest power-off" --expect "vm 2: summary: guest power-off"
  --expect "keel: all VMs ended, pool "
  ${_load}
  -device intel-iommu
  -drive file=@NS1@,if=none,id=nvm1,format=raw -drive file=@NS2@,if=none,id=nvm2,format=raw
  -device nvme-subsys,id=s0
  -device nvme,serial=pf0,subsys=s0,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2,addr=0x3
  -device nvme-ns,drive=nvm1,nsid=1,detached=on -device nvme-ns,drive=nvm2,nsid=2,detached=on)
set_tests_properties(x86_64.linux_sriov_nvme PROPERTIES LABELS qemu-x86_64 TIMEOUT 330)
