# Unmodified Debian amd64 Linux under Keel's VT-x backend (Bochs corei7_skylake_x, issue 12):
# Bochs has no loader device, so GRUB loads the bzImage and initramfs as Multiboot2 modules
# and Keel moves them to their keel.load= addresses (0x30000000, 0x34000000) before the pool
# is built (docs/boot-info.md, "Boot modules"); the keel-x86_64-linux.iso's keel.vm=
# definition (arch/x86_64/sources.cmake) names them there. Core 0 is the hypervisor's, VM 1
# runs on core 1 (bochs.linux_smp, at the end: on cores 1-2). A third module asking for an
# address inside the bzImage's destination is refused and left alone. The guest's init
# (tests/guest/linux/init) prints its markers and powers off through ACPI S5. Missing guest
# files make the tests FAIL with a message.
# Label `long`: 218-328 s on the 2-core development machine, with or without a build or
# QEMU run beside it (Bochs decompressing the bzImage is most of it); TIMEOUT leaves room
# for a starved run.
set(_xk ${KEEL_GUESTS_DIR}/bzImage-amd64)
set(_xr ${KEEL_GUESTS_DIR}/initramfs-amd64.cpio.gz)
if(NOT EXISTS ${_xk} OR NOT EXISTS ${_xr})
  foreach(_t bochs.linux_init bochs.linux_smp)
    add_test(NAME ${_t} COMMAND sh -c "echo 'FAIL: guest Linux missing in ${KEEL_GUESTS_DIR}: run tools/fetch-guests.sh (or tools/setup.sh), then reconfigure'; exit 1")
    set_tests_properties(${_t} PROPERTIES LABELS long)
  endforeach()
  return()
endif()
set(_vmx_linux_fail --fail "Kernel panic" --fail "pool leaked" --fail "not handled"
  --fail "VM-entry failure" --fail "rcu_sched detected stalls" --fail "access outside its memory"
  --fail "failed:")
# After `nproc`: the guest's RAM from GPA 0 (128 MiB), its power-off, the pool back.
set(_vmx_linux_end
  --expect "[vm 1] KEEL-GUEST: MemTotal:"
  --expect "[vm 1] 00100000-07ffffff : System RAM"
  --expect "vm 1: guest power-off (ACPI S5)"
  --expect "vm 1: summary: guest power-off"
  --expect "keel: all VMs ended, pool "
  --expect "keel: power off (status 0)")
keel_emu_test(NAME bochs.linux_init LABEL long TIMEOUT 1800 SERIAL ARGS
  --machine bochs --image ${CMAKE_BINARY_DIR}/x86_64/keel-x86_64-linux.iso --smp 2 --mem 1024M
  --wait-exit ${_vmx_linux_fail}
  --expect "boot: module 0 \"keel.load=0x30000000\" "
  --expect " moved to 0x30000000"
  --expect "boot: module 1 \"keel.load=0x34000000\" "
  --expect " moved to 0x34000000"
  --expect "boot: module 2 \"keel.load=0x30200000\" at "
  --expect "keel.load refused: overlaps another module's destination"
  --expect "vm 1: created: cpus 0x2, 128 MiB"
  --expect "[vm 1] KEEL-GUEST: init up"
  --expect "[vm 1] KEEL-GUEST: nproc 1"
  ${_vmx_linux_end})

# The same Linux with two vCPUs on cores 1-2 (Bochs count=3): vCPU 1 comes up through
# INIT/SIPI into Linux's real-mode trampoline below 1 MiB (unrestricted guest), and the
# guest counts both CPUs. 375-395 s on the 2-core development machine.
keel_emu_test(NAME bochs.linux_smp LABEL long TIMEOUT 2400 SERIAL ARGS
  --machine bochs --image ${CMAKE_BINARY_DIR}/x86_64/keel-x86_64-linux-smp.iso --smp 3 --mem 1024M
  --wait-exit ${_vmx_linux_fail}
  --expect " moved to 0x30000000"
  --expect " moved to 0x34000000"
  --expect "vm 1: created: cpus 0x6, 128 MiB"
  --expect "vm 1: vcpu 0: SIPI to vcpu 1, vector 0x"
  --expect "vm 1: vcpu 1 on cpu 2: real-mode entry at "
  --expect "[vm 1] KEEL-GUEST: init up"
  --expect "[vm 1] KEEL-GUEST: nproc 2"
  ${_vmx_linux_end})
