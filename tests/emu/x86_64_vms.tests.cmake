# x86_64 partitions under VT-x (issue 4): keel.vm= VMs through the core VM manager,
# Bochs corei7_skylake_x with 2 CPUs (3 for bochs.vm_smp; core 0 is the hypervisor's, the
# VMs run on cores 1-2, one after the other with after:), and SMP bring-up under QEMU TCG.
set(KEEL_ISO_VMS_x86_64 ${CMAKE_BINARY_DIR}/x86_64/keel-x86_64-vms.iso)
set(KEEL_ISO_VM_BENCH_x86_64 ${CMAKE_BINARY_DIR}/x86_64/keel-x86_64-vm-bench.iso)
set(KEEL_ISO_VM_SMP_x86_64 ${CMAKE_BINARY_DIR}/x86_64/keel-x86_64-vm-smp.iso)
set(KEEL_ISO_VM_REGS_x86_64 ${CMAKE_BINARY_DIR}/x86_64/keel-x86_64-vm-regs.iso)
set(KEEL_ISO_VM_MMIO_x86_64 ${CMAKE_BINARY_DIR}/x86_64/keel-x86_64-vm-mmio.iso)

# INIT-SIPI-SIPI from the MADT list (xAPIC under QEMU 7.2 TCG), own GDT/TSS/IDT per CPU.
foreach(_n 2 4)
  keel_emu_test(NAME x86_64.smp${_n} LABEL qemu-x86_64 TIMEOUT 60 ARGS
    --machine qemu-x86_64 --image ${KEEL_IMAGE_x86_64} --cpu max --smp ${_n} --mem 512M
    --append keel.test=smp --wait-exit --exit-code 1
    --expect "cpu 0 online (apic id 0, xAPIC), boot core"
    --expect "cpu 1 online (apic id 1, no VMX)"
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
  --expect "[vm 1] memory: RAM is zeroed at start ok"
  --expect "[vm 1] cpuid: leaf 1 VMX bit clear ok"
  --expect "[vm 1] cpuid: leaf 1 hypervisor bit set ok"
  --expect "[vm 1] cpuid: leaf 1 one logical processor (the VM's core) ok"
  --expect "[vm 1] cpuid: leaf 0x40000000 signature KeelKeelKeel ok"
  --expect "[vm 1] cpuid: leaf 0xb core level lists 1 processor ok"
  --expect "[vm 1] msr: wrmsr IA32_PAT reads back ok"
  --expect "vm 1: rdmsr 0x480 refused -> injecting #GP"
  --expect "[vm 1] msr: rdmsr IA32_VMX_BASIC (not allowed) -> #GP caught by the guest IDT ok"
  --expect "[vm 1] msr: wrmsr IA32_APIC_BASE (not allowed) -> #GP ok"
  --expect "[vm 1] msr: rdmsr IA32_TSC passes through the bitmap ok"
  --expect "[vm 1] cr: setting CR4.VMXE -> #GP ok"
  --expect "[vm 1] xsetbv: XCR0 without x87 -> #GP ok"
  --expect "[vm 1] xsetbv: XCR0 = x87|SSE accepted ok"
  --expect "[vm 1] mmio: mov byte imm store / mov r8 load ok"
  --expect "[vm 1] mmio: mov r8 store / mov ah load (high byte) ok"
  --expect "[vm 1] mmio: mov r16 store / load keeps the upper bits ok"
  --expect "[vm 1] mmio: mov r32 store / load zero-extends ok"
  --expect "[vm 1] mmio: mov r64 store / load ok"
  --expect "[vm 1] mmio: mov qword imm32 (sign-extended) store ok"
  --expect "[vm 1] mmio: movzx r32, byte ok"
  --expect "[vm 1] mmio: movsx r64, byte ok"
  --expect "[vm 1] mmio: movzx r64, word ok"
  --expect "[vm 1] mmio: movsx r32, word ok"
  --expect "[vm 1] mmio: movsxd r64, dword ok"
  --expect "[vm 1] mmio: stosb/stosw/stosd/stosq (RDI advanced) ok"
  --expect "[vm 1] mmio: rep stosd x4 (RCX counted down) ok"
  --expect "[vm 1] timer: interrupt 0x20 woke the HLT ok"
  --expect "[vm 1] vmcall: echo 0x41 -> 0x42 ok"
  --expect "[vm 1] all checks passed"
  --expect "vm 1: destroyed (guest power-off), pool back to"
  --expect "[vm 2] memory: RAM is zeroed at start ok"
  --expect "[vm 2] wild: reading the first byte beyond RAM"
  --expect "vm 2: EPT violation: read at guest-physical 0x40400000 (outside RAM and MMIO)"
  --expect "vm 2: access outside its memory: stopping the VM"
  --expect "vm 2: destroyed (fault)"
  --expect "vm 1: summary: guest power-off"
  --expect "keel: all VMs ended, pool 122 MiB, baseline 122 MiB"
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
  --expect "[vm 1] smp: cpuid leaf 1 lists the vCPU count, initial APIC id 0 ok"
  --expect "[vm 1] smp: cpuid leaf 1 x2APIC bit set ok"
  --expect "[vm 1] smp: cpuid leaf 0xb x2APIC id 0 ok"
  --expect "[vm 1] smp: IA32_APIC_BASE enabled, x2APIC, BSP, x2APIC id 0 ok"
  --expect "vm 1: vcpu 0: INIT to vcpu 1: waiting for SIPI"
  --expect "vm 1: vcpu 0: SIPI to vcpu 1, vector 0x"
  --expect "vm 1: vcpu 1 on cpu 2: real-mode entry at "
  --expect "[vm 1] cpu 1 up"
  --expect "[vm 1] smp: every AP started by INIT/SIPI counted itself ok"
  --expect "[vm 1] smp: 2 cpus ran"
  --expect "vm 1: guest power-off hypercall"
  --expect "vm 1: destroyed (guest power-off), pool back to"
  --expect "vm 2: vcpu 0 on cpu 2: 64-bit entry"
  --expect "[vm 2] memory: RAM is zeroed at start ok"
  --expect "vm 2: destroyed (fault)"
  --expect "vm 1: summary: guest power-off"
  --expect "keel: all VMs ended, pool 122 MiB, baseline 122 MiB"
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
  --expect "vm 1: vcpu 1 on cpu 2: real-mode entry at "
  --expect "[vm 1] cpu 1 up"
  --expect "[vm 1] mmio-smp: every AP finished hammering the scratch page ok"
  --expect "[vm 1] mmio-smp: every read-back matched on every vCPU ok"
  --expect "[vm 1] mmio-smp: 4000 MMIO accesses on each of 2 vCPUs"
  --expect "vm 1: destroyed (guest power-off), pool back to"
  --expect "vm 2: vcpu 0 on cpu 2: 64-bit entry"
  --expect "[vm 2] all checks passed"
  --expect "keel: all VMs ended, pool 122 MiB, baseline 122 MiB"
  --expect "keel: power off (status 0)")
