# x86_64 partitions under AMD SVM with nested paging (issue 12): QEMU TCG `-cpu max` (SVM,
# NPT, 16 ASIDs, no NRIPS, no decode assists), the same in-tree test guest and the same
# markers as the Bochs/VMX tests (x86_64_vms.tests.cmake), about a second each.
include(${CMAKE_SOURCE_DIR}/tests/emu/x86_64_guest_suite.cmake)
set(_svm_args --machine qemu-x86_64 --image ${KEEL_IMAGE_x86_64} --cpu max --mem 512M
  --wait-exit --exit-code 1 --fail "FAIL" --fail "VMEXIT_INVALID" --fail "not found at RIP")

# VM 1 runs the whole test-guest suite (64-bit, NPT, VMMCALL): CPUID filter, MSR allow-list
# with #GP caught by the guest's IDT, COM1 console, CR4.VMXE/XSETBV validation, every MMIO
# instruction form against the scratch device (nested page faults decoded with Zydis), the
# timer waking HLT; RIP advanced by the hypervisor's own decode. VM 2 (after:1, same core,
# same memory) sees zeroes where VM 1 wrote its pattern, then reads beyond its RAM and is
# stopped with a report. The pool must be back to its baseline.
keel_emu_test(NAME x86_64.svm_vms LABEL qemu-x86_64 TIMEOUT 60 ARGS ${_svm_args} --smp 2
  --append "keel.vm=cpus:1,mem:4M keel.vm=cpus:1,mem:4M,after:1,guest:wild"
  --expect "virt: SVM yes, NPT yes, ASIDs 16, NRIPS no"
  --expect "virt: backend SVM"
  --expect "cpu 1 online (apic id 1, SVM on)"
  --expect "vm 1: created: cpus 0x2, 4 MiB at pa"
  --expect "vm 1: vcpu 0 on cpu 1: 64-bit entry at 0x40000000, nCR3 0x"
  --expect "[vm 1] hello from a 64-bit guest under SVM: vm 1"
  ${KEEL_X86_GUEST_SUITE_MARKERS}
  --expect "vm 2: nested page fault: read at guest-physical 0x40400000 (outside RAM and MMIO)"
  --expect "vm 2: access outside its memory: stopping the VM"
  --expect "vm 2: destroyed (fault)"
  --expect "vm 1: summary: guest power-off"
  --expect "keel: all VMs ended, pool " --fail "pool leaked"
  --expect "keel: power off (status 0)")

# A VM with two vCPUs on cores 1-2: the guest BSP checks the topology CPUID and its x2APIC,
# starts vCPU 1 with INIT/SIPI through the x2APIC ICR (MSR 0x830); vCPU 1 enters in real mode
# at the SIPI vector (nested paging, paging off) and executes a CPUID there, from the low alias
# of its RAM (the hypervisor fetches and decodes it at CS base + IP), goes to 64-bit mode itself
# (EFER.LME through the MSR allow-list), prints, counts itself and halts; the BSP powers off. VM 2 then runs on
# core 2 alone (the core was freed) and sees zeroed memory.
keel_emu_test(NAME x86_64.svm_smp LABEL qemu-x86_64 TIMEOUT 60 ARGS ${_svm_args} --smp 3
  --append "keel.vm=cpus:1-2,mem:4M keel.vm=cpus:2,mem:4M,after:1,guest:wild"
  --expect "cpu 2 online (apic id 2, SVM on)"
  --expect "vm 1: created: cpus 0x6, 4 MiB at pa"
  --expect "vm 1: vcpu 0 on cpu 1: 64-bit entry at 0x40000000"
  ${KEEL_X86_GUEST_SMP_MARKERS}
  --expect "keel: all VMs ended, pool " --fail "pool leaked"
  --expect "keel: power off (status 0)")

# Hostile exits end only their own VM: while VM 1 runs the whole suite on core 1, VM 2 on
# core 2 executes VMRUN (intercepted unconditionally: an exit no handler takes) and is
# stopped with a report; VM 3 then triple-faults on the freed core 2 (SHUTDOWN intercept).
# VM 1 must finish its suite and power off by itself, and the pool come back whole.
keel_emu_test(NAME x86_64.svm_hostile LABEL qemu-x86_64 TIMEOUT 60 ARGS ${_svm_args} --smp 3
  --append "keel.vm=cpus:1,mem:4M keel.vm=cpus:2,mem:4M,guest:vmrun keel.vm=cpus:2,mem:4M,after:2,guest:triple"
  --expect "[vm 2] hostile: executing VMRUN"
  --expect "vm 2: exit code 0x80 (VMRUN) not handled"
  --expect "vm 2: unhandled exit: stopping the VM"
  --expect "vm 2: destroyed (fault)"
  --expect "[vm 3] hostile: triple fault"
  --expect "vm 3: triple fault (shutdown): stopping the VM"
  --expect "vm 3: destroyed (fault)"
  --expect "vm 1: summary: guest power-off"
  --expect "vm 2: summary: fault"
  --expect "vm 3: summary: fault"
  --expect "keel: all VMs ended, pool " --fail "pool leaked"
  --expect "keel: power off (status 0)")

# No state crosses VMs under SVM either (issue 10 item 1): VM 1 fills XMM0-15, MXCSR, the x87
# stack and control word and DR0-DR3 and powers off; VM 2 on the same core reads them all and
# names any not at its reset value (virt/core_reset.cpp; FS/GS/TR/LDTR and the SYSCALL MSRs
# come from the new VMCB through VMLOAD).
keel_emu_test(NAME x86_64.svm_register_reset LABEL qemu-x86_64 TIMEOUT 60 ARGS ${_svm_args} --smp 2
  --append "keel.vm=cpus:1,mem:4M,guest:regfill keel.vm=cpus:1,mem:4M,after:1,guest:regcheck"
  --fail "regs: NOT reset"
  --expect "vcpu reset: XRSTOR to init"
  --expect "[vm 1] regs: filled"
  --expect "vm 1: destroyed (guest power-off)"
  --expect "[vm 2] regs: all at reset values"
  --expect "keel: all VMs ended, pool " --fail "pool leaked")

# Two vCPUs emulating MMIO at once (issue 10 item 11) under SVM: both hammer the scratch page,
# so cores 1 and 2 fetch and decode at the same time through their own windows; then a VM on
# core 2 alone must still be served.
keel_emu_test(NAME x86_64.svm_mmio_smp LABEL qemu-x86_64 TIMEOUT 60 ARGS ${_svm_args} --smp 3
  --append "keel.vm=cpus:1-2,mem:4M,guest:mmio keel.vm=cpus:2,mem:4M,after:1"
  --fail "KEEL EXCEPTION" --fail "KEEL PANIC"
  ${KEEL_X86_GUEST_MMIO_SMP_MARKERS}
  --expect "keel: all VMs ended, pool " --fail "pool leaked"
  --expect "keel: power off (status 0)")

# The Linux platform's reset register (FADT RESET_REG, port 0xcf9) ends only its VM, as a
# guest reset: VM 2 first writes SLP_EN with a sleep type that is not \_S5 (ignored), then
# 6 to 0xcf9, while VM 1 runs its whole suite; core 2 and the memory come back.
keel_emu_test(NAME x86_64.svm_reset LABEL qemu-x86_64 TIMEOUT 60 ARGS ${_svm_args} --smp 3
  --append "keel.vm=cpus:1,mem:4M keel.vm=cpus:2,mem:4M,guest:reset"
  --expect "[vm 2] reset: SLP_EN with SLP_TYP 3"
  --expect "[vm 2] reset: still running, writing 6 to port 0xcf9"
  --expect "vm 2: guest reset (port 0xcf9)"
  --expect "vm 2: destroyed (guest reset)"
  --expect "vm 1: summary: guest power-off"
  --expect "vm 2: summary: guest reset"
  --expect "keel: all VMs ended, pool " --fail "pool leaked" --fail "vm 2: guest power-off"
  --expect "keel: power off (status 0)")

# The image is a static PIE (docs/handover.md §1.4), the first step of an x86 live update:
# a copy whose Multiboot header asks to be loaded 64 MiB higher (keel-run --load-offset) runs
# at 0x4200000 instead of its linked 0x200000: the 32-bit entry finds where it runs, the
# 64-bit entry applies every R_X86_64_RELATIVE (vtables, handler tables, the GOT), and the
# AP trampoline, which names only itself and what smp.cpp writes into it, starts every core.
# The pool gives the 2 MiB block at 0x200000, where the image is linked, to VM 1, which
# runs the whole guest suite over it (its RAM zeroed, a pattern written through all of it);
# then VM 2, with two vCPUs on cores 2-3, starts its AP by INIT/SIPI. Both power off, the
# pool comes back.
keel_emu_test(NAME x86_64.update_relocated_boot LABEL qemu-x86_64 TIMEOUT 60 ARGS ${_svm_args}
  --load-offset 0x4000000 --smp 4
  --append "keel.vm=cpus:1,mem:4M keel.vm=cpus:2-3,mem:4M,after:1"
  --expect "x86_64: running at 0x4200000, linked at 0x200000: "
  --fail "running at 0x4200000, linked at 0x200000: 0 relocations"
  --expect "cpu 3 online (apic id 3, SVM on)"
  --expect "pool: free 0x200000-0x41fffff (64 MiB)"
  --expect "vm 1: created: cpus 0x2, 4 MiB at pa 0x200000 (ipa 0x40000000)"
  --expect "[vm 1] hello from a 64-bit guest under SVM: vm 1"
  --expect "[vm 1] memory: RAM is zeroed at start ok"
  --expect "[vm 1] apic: NMI taken with RFLAGS.IF clear ok"
  --expect "[vm 1] vmcall: echo 0x41 -> 0x42 ok"
  --expect "[vm 1] all checks passed"
  --expect "vm 1: destroyed (guest power-off), pool back to"
  --expect "vm 2: created: cpus 0xc, 4 MiB at pa 0x200000"
  --expect "[vm 2] memory: RAM is zeroed at start ok"
  --expect "[vm 2] smp: every AP started by INIT/SIPI counted itself ok"
  --expect "[vm 2] smp: 2 cpus ran"
  --expect "vm 1: summary: guest power-off"
  --expect "vm 2: summary: guest power-off"
  --expect "keel: all VMs ended, pool " --fail "pool leaked"
  --expect "keel: power off (status 0)")
