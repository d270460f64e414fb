# arm64 partitioning: secondary cores, the partition pool, stage-2 VMs running the
# in-tree test guest (tests/guest/arm64/), from keel.vm= definitions (docs/vm-definitions.md).
# Lines from VMs running side by side interleave in any order, so cross-VM checks use
# the boot core's per-VM summaries, which it prints in VM order once all have ended.
set(_img ${KEEL_IMAGE_arm64})
set(_guest_fail --fail "guest: ERROR" --fail "ram check: NOT zero" --fail "pool leaked")

# Two VMs on different cores, both print through the emulated UART, make HVC and SMC
# calls, catch the abort injected for a read outside their RAM, and power off.
keel_emu_test(NAME arm64.vms_two LABEL qemu-arm64 TIMEOUT 30 ARGS
  --machine qemu-arm64 --image ${_img} --smp 4 --mem 1G --wait-exit --exit-code 0 ${_guest_fail}
  --append "keel.vm=cpus:1,mem:64M keel.vm=cpus:2-3,mem:128M"
  --expect "cpu 1 online (mpidr 0x1)"
  --expect "cpu 3 online (mpidr 0x3)"
  --expect "pool: 1020 MiB free"
  --expect "keel: first light complete"
  --expect "vm 1: created: cpus 0x2, 64 MiB"
  --expect "vm 2: created: cpus 0xc, 128 MiB"
  --expect "[vm 1] guest: abort caught, esr 0x96000010"
  --expect "vm 1: summary: guest power-off"
  --expect "9 console lines, 4 hypercalls, 1 aborts injected"
  --expect "vm 2: summary: guest power-off"
  --expect "9 console lines, 4 hypercalls, 1 aborts injected"
  --expect "keel: all VMs ended, pool 1020 MiB, baseline 1020 MiB"
  --expect "keel: power off")

# One guest faults with no vector table of its own: only that VM stops; the other
# finishes normally and the pool is whole again.
keel_emu_test(NAME arm64.vms_fault_isolation LABEL qemu-arm64 TIMEOUT 30 ARGS
  --machine qemu-arm64 --image ${_img} --smp 4 --mem 1G --wait-exit --exit-code 0 ${_guest_fail}
  --append "keel.vm=cpus:1,mem:64M,guest:wild keel.vm=cpus:2,mem:64M"
  --expect "vm 2: created"
  --expect "vm 1: instruction fetch outside its memory"
  --expect "vm 1: summary: fault"
  --expect "1 aborts injected"
  --expect "vm 2: summary: guest power-off"
  --expect "9 console lines, 4 hypercalls, 1 aborts injected"
  --expect "keel: all VMs ended, pool 1020 MiB, baseline 1020 MiB"
  --expect "keel: power off")

# VM 2 starts after VM 1 is gone and gets the same blocks VM 1 filled with a pattern. Both
# scan every word of their RAM outside their own image (guest:scan, all 64 MiB), so
# leftovers anywhere in the VM's memory fail, not only in a window.
keel_emu_test(NAME arm64.vms_scrub LABEL qemu-arm64 TIMEOUT 30 ARGS
  --machine qemu-arm64 --image ${_img} --smp 4 --mem 1G --wait-exit --exit-code 0 ${_guest_fail}
  --append "keel.vm=cpus:1,mem:64M,guest:scan keel.vm=cpus:2,mem:64M,after:1,guest:scan"
  --fail "ram scan: NOT zero"
  --expect "vm 1: created: cpus 0x2, 64 MiB at pa 0x40400000"
  --expect "[vm 1] guest: ram scan: all zero outside the image"
  --expect "[vm 1] guest: ram scan: pattern written to all of it"
  --expect "vm 1: destroyed (guest power-off), pool back to 1020 MiB"
  --expect "vm 2: created: cpus 0x4, 64 MiB at pa 0x40400000"
  --expect "[vm 2] guest: ram scan: all zero outside the image"
  --expect "vm 2: destroyed (guest power-off), pool back to 1020 MiB"
  --expect "keel: all VMs ended, pool 1020 MiB, baseline 1020 MiB"
  --expect "keel: power off")

# Impossible definitions are refused by name; the valid one still runs.
keel_emu_test(NAME arm64.vms_bad_definitions LABEL qemu-arm64 TIMEOUT 30 ARGS
  --machine qemu-arm64 --image ${_img} --smp 4 --mem 1G --wait-exit --exit-code 0 ${_guest_fail}
  --append "keel.vm=cpus:0,mem:64M keel.vm=cpus:1,mem:64M keel.vm=cpus:1,mem:2M keel.vm=cpus:7,mem:2M keel.vm=cpus:2,mem:4G keel.vm=cpus:2,mem:3M keel.vm=oops keel.vm=cpus:3,mem:2M,after:4"
  --expect "vm 6: rejected \"keel.vm=cpus:2,mem:3M\": memory must be a non-zero multiple of 2 MiB"
  --expect "vm 7: rejected \"keel.vm=oops\": malformed"
  --expect "vm 1: rejected \"keel.vm=cpus:0,mem:64M\": names the hypervisor's own core"
  --expect "vm 2: created: cpus 0x2"
  --expect "vm 3: rejected \"keel.vm=cpus:1,mem:2M\": names a core another VM owns"
  --expect "vm 4: rejected \"keel.vm=cpus:7,mem:2M\": names a core that does not exist"
  --expect "vm 5: rejected \"keel.vm=cpus:2,mem:4G\": asks for more memory than the pool has free"
  --expect "vm 8: rejected \"keel.vm=cpus:3,mem:2M,after:4\": after: must name an earlier, accepted VM"
  --expect "vm 2: summary: guest power-off"
  --expect "keel: all VMs ended, pool 1020 MiB, baseline 1020 MiB"
  --expect "keel: power off")

# Guest sources are checked against the pool (the boot memory map) before they are read
# (issue 10 items 3 and 5): a kernel where no RAM is (the old tree took an EL2 data abort
# reading it) and a kernel that is the hypervisor's own image (an arm64 Image header, which
# the old tree booted as a guest) are refused by name; the valid VM runs, the pool is whole.
keel_emu_test(NAME arm64.vms_bad_sources LABEL qemu-arm64 TIMEOUT 30 ARGS
  --machine qemu-arm64 --image ${_img} --smp 4 --mem 1G --wait-exit --exit-code 0 ${_guest_fail}
  --append "keel.vm=cpus:1,mem:64M,kernel:0x200000000 keel.vm=cpus:2,mem:64M,kernel:0x40200000 keel.vm=cpus:3,mem:64M"
  --expect "vm 1: rejected \"keel.vm=cpus:1,mem:64M,kernel:0x200000000\": guest sources: not free RAM the pool manages"
  --expect "vm 2: rejected \"keel.vm=cpus:2,mem:64M,kernel:0x40200000\": guest sources: not free RAM the pool manages"
  --expect "vm 3: created: cpus 0x8, 64 MiB"
  --expect "vm 3: summary: guest power-off"
  --expect "keel: all VMs ended, pool 1020 MiB, baseline 1020 MiB"
  --expect "keel: power off")

# No state crosses VMs (issue 10 item 1): VM 1 fills V0-V31, FPCR/FPSR, the EL1 physical
# timer, the PMU cycle counter, AFSR0/1 and the thread registers with distinctive values
# and powers off; VM 2 on the same core reads them all and names any that is not at its
# reset value. (The old tree left V0-V31 and the PMU as VM 1 had them.)
keel_emu_test(NAME arm64.vms_register_reset LABEL qemu-arm64 TIMEOUT 30 ARGS
  --machine qemu-arm64 --image ${_img} --smp 2 --mem 1G --wait-exit --exit-code 0 ${_guest_fail}
  --fail "regs: NOT reset"
  --append "keel.vm=cpus:1,mem:4M,guest:regfill keel.vm=cpus:1,mem:4M,after:1,guest:regcheck"
  --expect "[vm 1] guest: regs: filled"
  --expect "vm 1: destroyed (guest power-off)"
  --expect "vm 2: vcpu 0 running on cpu 1"
  --expect "[vm 2] guest: regs: all at reset values"
  --expect "keel: power off")
