# arm64 first light under QEMU virt (EL2, GICv3, 4 CPUs): see issue "Foundation".
set(_img ${KEEL_IMAGE_arm64})

keel_emu_test(NAME arm64.first_light LABEL qemu-arm64 TIMEOUT 60 ARGS
  --machine qemu-arm64 --image ${_img} --smp 4 --mem 1G --wait-exit --exit-code 0
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
