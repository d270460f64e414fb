# x86_64 partitions under VT-x (issue 4): keel.vm= VMs through the core VM manager,
# Bochs corei7_skylake_x with 2 CPUs (3 for bochs.vm_smp; core 0 is the hypervisor's, the
# VMs run on cores 1-2, one after the other with after:), and SMP bring-up under QEMU TCG.
include(${CMAKE_SOURCE_DIR}/tests/emu/x86_64_guest_suite.cmake)
set(KEEL_ISO_VMS_x86_64 ${CMAKE_BINARY_DIR}/x86_64/keel-x86_64-vms.iso)
set(KEEL_ISO_VM_BENCH_x86_64 ${CMAKE_BINARY_DIR}/x86_64/keel-x86_64-vm-bench.iso)
set(KEEL_ISO_VM_SMP_x86_64 ${CMAKE_BINARY_DIR}/x86_64/keel-x86_64-vm-smp.iso)
set(KEEL_ISO_VM_REGS_x86_64 ${CMAKE_BINARY_DIR}/x86_64/keel-x86_64-vm-regs.iso)
set(KEEL_ISO_VM_MMIO_x86_64 ${CMAKE_BINARY_DIR}/x86_64/keel-x86_64-vm-mmio.iso)
set(KEEL_ISO_VM_RESET_x86_64 ${CMAKE_BINARY_DIR}/x86_64/keel-x86_64-vm-reset.iso)

# INIT-SIPI-SIPI from the MADT list (xAPIC under QEMU 7.2 TCG), own GDT/TSS/IDT per CPU.
foreach(_n 2 4)
  keel_emu_test(NAME x86_64.smp${_n} LABEL qemu-x86_64 TIMEOUT 60 ARGS
    --machine qemu-x86_64 --image ${KEEL_IMAGE_x86_64} --cpu max --smp ${_n} --mem 512M
    --append keel.test=smp --wait-exit --exit-code 1
    --expect "cpu 0 online (apic id 0, xAPIC), boot core"
    --expect "cpu 1 online (apic id 1, SVM on)"
    --expect "smp: ${_n} of ${_n} cpus online"
    --expect "keel: first light complete"
    --expect "keel: power off (status 0)")
endforeach()

# VM 1 runs the test-guest suite (64-bit, EPT, VPID): CPUID filter, MSR allow-list with
# #GP caught by the guest's IDT, COM1 console, CR4.VMXE/XSETBV validation, every MMIO
# instruction form against the scratch device, the timer waking HLT; VM 2 (after:1, same
# core, same memory) sees zeroes where VM 1 wrote its pattern, then reads beyond its RAM
# and is stopped with a report. The pool must be back to its baseline.
keel_emu_test(NAME bochs.vms LABEL bochs-vmx TIMEOUT 120 SERIAL ARGS
  --machine bochs --image ${KEEL_ISO_VMS_x86_64} --smp 2 --mem 128M --wait-exit
  --fail "FAIL" --fail "VM-entry failure" --fail "failed:"
  --expect "cpu 0 online (apic id 0, x2APIC), boot core"
  --expect "cpu 1 online (apic id 1, VMX on)"
  --expect "smp: 2 of 2 cpus online"
  --expect "vm 1: created: cpus 0x2, 4 MiB at pa"
  --expect "vm 1: vcpu 0 on cpu 1: 64-bit entry at 0x40000000"
  --expect "[vm 1] hello from a 64-bit guest under VT-x: vm 1"
  ${KEEL_X86_GUEST_SUITE_MARKERS}
  --expect "vm 2: EPT violation: read at guest-physical 0x40400000 (outside RAM and MMIO)"
  --expect "vm 2: access outside its memory: stopping the VM"
  --expect "vm 2: destroyed (fault)"
  --expect "vm 1: summary: guest power-off"
  --expect "keel: all VMs ended, pool " --fail "pool leaked"
  --expect "keel: power off (status 0)")

# The round-trip benchmark (bench/x86_vmx_bench.sh prints the table).
keel_emu_test(NAME bochs.vm_bench LABEL bochs-vmx TIMEOUT 120 SERIAL ARGS
  --machine bochs --image ${KEEL_ISO_VM_BENCH_x86_64} --smp 2 --mem 128M --wait-exit
  --fail "FAIL"
  --expect "[vm 1] bench: calibration loop"
  --expect "[vm 1] bench: vmcall null round trip"
  --expect "[vm 1] bench: cpuid leaf 0 round trip"
  --expect "keel: all VMs ended")

# A VM with two vCPUs on cores 1-2 (Bochs count=3): the guest BSP checks the topology
# CPUID and its x2APIC, starts vCPU 1 with INIT/SIPI through the x2APIC ICR (MSR 0x830);
# vCPU 1 enters in real mode at the SIPI vector, goes to 64-bit mode itself, prints,
# counts itself and halts (its vCPU stops); the BSP powers off. VM 2 then runs on core 2
# alone (the core was freed) and sees zeroed memory. The pool must be back to baseline.
keel_emu_test(NAME bochs.vm_smp LABEL bochs-vmx TIMEOUT 120 SERIAL ARGS
  --machine bochs --image ${KEEL_ISO_VM_SMP_x86_64} --smp 3 --mem 128M --wait-exit
  --fail "FAIL" --fail "VM-entry failure" --fail "failed:"
  --expect "cpu 2 online (apic id 2, VMX on)"
  --expect "smp: 3 of 3 cpus online"
  --expect "vm 1: created: cpus 0x6, 4 MiB at pa"
  --expect "vm 1: vcpu 0 on cpu 1: 64-bit entry at 0x40000000"
  ${KEEL_X86_GUEST_SMP_MARKERS}
  --expect "keel: all VMs ended, pool " --fail "pool leaked"
  --expect "keel: power off (status 0)")

# No state crosses VMs (issue 10 item 1): VM 1 fills XMM0-15, MXCSR, the x87 stack and
# control word and DR0-DR3 and powers off; VM 2 on the same core reads them all and names
# any not at its reset value. (The old tree reset only XCR0.)
keel_emu_test(NAME bochs.vm_register_reset LABEL bochs-vmx TIMEOUT 120 SERIAL ARGS
  --machine bochs --image ${KEEL_ISO_VM_REGS_x86_64} --smp 2 --mem 128M --wait-exit
  --fail "FAIL" --fail "VM-entry failure" --fail "failed:" --fail "regs: NOT reset"
  --expect "vcpu reset: XRSTOR to init"
  --expect "[vm 1] regs: filled"
  --expect "vm 1: destroyed (guest power-off)"
  --expect "[vm 2] regs: all at reset values"
  --expect "keel: all VMs ended")

# Two vCPUs emulating MMIO at once (issue 10 item 11): both hammer the scratch page, so the
# hypervisor fetches and decodes on cores 1 and 2 at the same time, reading the same guest
# code page and page tables. The old tree shared one identity mapping between the cores
# (the first unmap pulled the page from under the second: a root-mode page fault, a halted
# core, a VM never torn down); now each core reads guest memory through its own window. The
# VM must complete, and the next VM must still be served on the same core.
keel_emu_test(NAME bochs.vm_mmio_smp LABEL bochs-vmx TIMEOUT 240 SERIAL ARGS
  --machine bochs --image ${KEEL_ISO_VM_MMIO_x86_64} --smp 3 --mem 128M --wait-exit
  --fail "FAIL" --fail "VM-entry failure" --fail "failed:" --fail "KEEL EXCEPTION"
  --fail "KEEL PANIC"
  ${KEEL_X86_GUEST_MMIO_SMP_MARKERS}
  --expect "keel: all VMs ended, pool " --fail "pool leaked"
  --expect "keel: power off (status 0)")

# The reset register under VMX, as x86_64.svm_reset checks it under SVM: VM 1 writes SLP_EN
# with a sleep type that is not \_S5 (ignored), then 6 to port 0xcf9, which ends it as a
# guest reset; VM 2 (after:1) then runs the whole suite on the same core and powers off.
keel_emu_test(NAME bochs.vm_reset LABEL bochs-vmx TIMEOUT 180 SERIAL ARGS
  --machine bochs --image ${KEEL_ISO_VM_RESET_x86_64} --smp 2 --mem 128M --wait-exit
  --fail "FAIL" --fail "VM-entry failure" --fail "failed:" --fail "vm 1: guest power-off"
  --expect "[vm 1] reset: SLP_EN with SLP_TYP 3"
  --expect "[vm 1] reset: still running, writing 6 to port 0xcf9"
  --expect "vm 1: guest reset (port 0xcf9)"
  --expect "vm 1: destroyed (guest reset)"
  --expect "[vm 2] all checks passed"
  --expect "vm 2: destroyed (guest power-off)"
  --expect "vm 1: summary: guest reset"
  --expect "vm 2: summary: guest power-off"
  --expect "keel: all VMs ended, pool " --fail "pool leaked"
  --expect "keel: power off (status 0)")
