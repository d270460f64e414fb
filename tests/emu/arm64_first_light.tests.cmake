# arm64 first light under QEMU virt (EL2, GICv3, 4 CPUs): see issue "Foundation".
set(_img ${KEEL_IMAGE_arm64})

keel_emu_test(NAME arm64.first_light LABEL qemu-arm64 TIMEOUT 60 ARGS
  --machine qemu-arm64 --image ${_img} --smp 4 --mem 1G --wait-exit --exit-code 0
  --fail "relocations applied" # loaded where it is linked: start.S relocates nothing
  --expect "arm64: EL2 MMU on"
  --expect "Keel hypervisor"
  --expect "platform: memory 0x40000000-0x7fffffff usable (1024 MiB)"
  --expect "platform: 4 cpus"
  --expect "platform: cpu 3 hwid 0x3"
  --expect "platform: irq controller GICv3 dist 0x8000000 redist 0x80a0000"
  --expect "platform: uart 0x9000000"
  --expect "platform: pcie ecam 0x4010000000"
  --expect "platform: psci smc"
  --expect "virt: EL2 yes"
  --expect "keel: first light complete"
  --expect "crypto: sha384"
  --expect "crypto: ecdsa-p384"
  --expect "crypto: self-check passed"
  --expect "keel: power off")

# A deliberate EL2 data abort must be reported with its syndrome and halt.
keel_emu_test(NAME arm64.exception_report LABEL qemu-arm64 TIMEOUT 60 ARGS
  --machine qemu-arm64 --image ${_img} --append keel.test=fault
  --no-default-fail --fail "KEEL PANIC" --fail "first light complete"
  --expect "test: triggering a deliberate fault"
  --expect "KEEL EXCEPTION: sync (EL2, SP_EL2) at EL2"
  --expect "EC 0x25: data abort, same EL"
  --expect "FAR_EL2 0x0000004001000000"
  --expect "x30")

# Issue 16: timers, SMMU and requester-ID routing from the device tree (virt with
# iommu=smmuv3: the SMMU at 0x09050000, SPIs 74 eventq / 77 gerror, every requester ID
# through it as its stream ID and on to the ITS as its device ID) and from ACPI (GTDT,
# IORT) on the same machine; hw/arm/virt.c's map and the Arm BSA timer PPIs are the
# reference. With ACPI QEMU routes only the enumerated buses (bus 0 here) through the
# SMMU and the rest straight to the ITS (tests/unit/acpi_iort_gtdt_test.cpp).
keel_emu_test(NAME arm64.platform_smmu LABEL qemu-arm64 TIMEOUT 60 ARGS
  --machine qemu-arm64 --image ${_img} --smp 4 --mem 1G --machine-opts ,iommu=smmuv3
  --expect "platform: timers virt 27 phys 30 hyp 26"
  --expect "platform: smmu 0 base 0x9050000 event 106 gerror 109"
  --expect "platform: pci rids 0x0-0xffff: smmu 0 streams 0x0, its devices 0x0"
  --expect "keel: first light complete")
keel_emu_test(NAME uefi.arm64.acpi_smmu LABEL "qemu-arm64;uefi" TIMEOUT 60 ARGS
  --machine qemu-arm64 --uefi ${CMAKE_BINARY_DIR}/uefi/demo-arm64/disk.img --acpi --smp 4 --mem 1G
  --machine-opts ,iommu=smmuv3
  --expect "platform: described by ACPI (no device tree)"
  --expect "platform: timers virt 27 phys 30 hyp 26"
  --expect "platform: smmu 0 base 0x9050000 event 106 gerror 109"
  --expect "platform: pci rids 0x0-0xff: smmu 0 streams 0x0, its devices 0x0"
  --expect "platform: pci rids 0x100-0xffff: no smmu, its devices 0x100"
  --expect "keel: first light complete")

# Firmware that wires the guest timers to other PPIs is refused at boot, not guessed
# around: the board's own device tree with the virtual timer moved to PPI 12 (INTID 28).
set(_timer_dtb ${CMAKE_BINARY_DIR}/test-dtbs/virt-timer-ppi28.dtb)
add_custom_command(OUTPUT ${_timer_dtb}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/test-dtbs
  COMMAND sh -c "sed 's/0x01 0x0b 0x04 0x01 0x0a 0x04>/0x01 0x0c 0x04 0x01 0x0a 0x04>/' $0 | dtc -q -I dts -O dtb -o $1 -"
          ${CMAKE_SOURCE_DIR}/tests/data/qemu-virt-gicv3.dts ${_timer_dtb}
  DEPENDS ${CMAKE_SOURCE_DIR}/tests/data/qemu-virt-gicv3.dts VERBATIM)
add_custom_target(timer_dtb ALL DEPENDS ${_timer_dtb})
keel_emu_test(NAME arm64.refuse_timer_ppis LABEL qemu-arm64 TIMEOUT 60 ARGS
  --machine qemu-arm64 --image ${_img} --smp 4 --mem 1G --machine-opts ,dtb=${_timer_dtb}
  --no-default-fail --fail "keel: first light complete"
  --expect "platform: timers virt 28 phys 30 hyp 26"
  --expect "generic timers on INTIDs virt 28 phys 30, but Keel forwards virt 27 phys 30 (Arm BSA)")
