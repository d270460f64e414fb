# What the x86 test guest prints for `keel.vm=cpus:1,mem:4M keel.vm=...,after:1,guest:wild`,
# under VMX (x86_64_vms.tests.cmake, Bochs) and SVM (x86_64_svm.tests.cmake, QEMU) alike:
# VM 1's whole suite (CPUID filter, MSR allow-list with #GP caught by the guest's IDT,
# COM1, CR4.VMXE/XSETBV validation, every MMIO form against the scratch device, the timer
# waking HLT, the local APIC suite of tests/guest/x86_64/vm/apic.c: timer periodic and
# TSC-deadline, masked LVT, self IPIs, NMI; the echo hypercall), then VM 2 on the same core seeing zeroed memory before
# it reads beyond its RAM. Markers are in order.
set(KEEL_X86_GUEST_SUITE_MARKERS
  --expect "[vm 1] memory: RAM is zeroed at start ok"
  --expect "[vm 1] cpuid: leaf 1 VMX bit clear ok"
  --expect "[vm 1] cpuid: leaf 1 hypervisor bit set ok"
  --expect "[vm 1] cpuid: leaf 1 one logical processor (the VM's core) ok"
  --expect "[vm 1] cpuid: leaf 0x40000000 signature KeelKeelKeel ok"
  --expect "[vm 1] cpuid: leaf 0xb core level lists 1 processor ok"
  --expect "[vm 1] cpuid: leaf 0x80000001 SVM bit clear ok"
  --expect "[vm 1] cpuid: leaf 7 INVPCID and TSC_ADJUST clear ok"
  --expect "[vm 1] cpuid: leaf 0xd.1 XSAVES clear ok"
  --expect "[vm 1] cpuid: leaf 6 ARAT at most ok"
  --expect "[vm 1] cpuid: leaf 0xa no performance monitoring ok"
  --expect "[vm 1] msr: wrmsr IA32_PAT reads back ok"
  --expect "vm 1: rdmsr 0x480 refused -> injecting #GP"
  --expect "[vm 1] msr: rdmsr IA32_VMX_BASIC (not allowed) -> #GP caught by the guest IDT ok"
  --expect "[vm 1] msr: wrmsr IA32_APIC_BASE (not allowed) -> #GP ok"
  --expect "[vm 1] msr: rdmsr IA32_TSC passes through the bitmap ok"
  --expect "[vm 1] msr: IA32_FS_BASE passes through the bitmap ok"
  --expect "[vm 1] cr: setting CR4.VMXE -> #GP ok"
  --expect "[vm 1] cpuid: leaf 1 OSXSAVE clear while CR4.OSXSAVE is 0 ok"
  --expect "[vm 1] cpuid: leaf 1 OSXSAVE set once CR4.OSXSAVE is 1 ok"
  --expect "[vm 1] xsetbv: XCR0 without x87 -> #GP ok"
  --expect "[vm 1] xsetbv: XCR0 = x87|SSE accepted ok"
  --expect "[vm 1] cpuid: leaf 0xd.1 EBX is 576 for XCR0 = x87|SSE ok"
  --expect "[vm 1] rtc: no update in progress (register A), valid time (register D) ok"
  --expect "[vm 1] rtc: register B at power-on: 24-hour, BCD ok"
  --expect "[vm 1] rtc: the time and date are BCD digits of a date from 2025 on ok"
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
  --expect "[vm 1] apic: SVR software enable reads back ok"
  --expect "[vm 1] apic: cpuid 0x15 gives the TSC / crystal ratio ok"
  --expect "[vm 1] apic: periodic timer current count counts down from initial ok"
  --expect "[vm 1] apic: periodic timer interrupt 0x30 came 3 times ok"
  --expect "[vm 1] apic: periodic timer fires every initial count x crystal ratio, never early ok"
  --expect "[vm 1] apic: cpuid leaf 1 TSC-deadline bit set ok"
  --expect "[vm 1] apic: IA32_TSC_DEADLINE reads the armed deadline ok"
  --expect "[vm 1] apic: TSC-deadline interrupt 0x31 woke the HLT, not before the deadline ok"
  --expect "[vm 1] apic: IA32_TSC_DEADLINE reads 0 once it fired ok"
  --expect "[vm 1] apic: TSC-deadline interrupt reached the running guest, not before the deadline ok"
  --expect "[vm 1] apic: a masked TSC-deadline timer delivers nothing ok"
  --expect "[vm 1] apic: SELF IPI delivered vector 0x32 to this vCPU ok"
  --expect "[vm 1] apic: ICR self shorthand delivered vector 0x32 ok"
  --expect "[vm 1] apic: NMI taken with RFLAGS.IF clear ok"
  --expect "[vm 1] apic: an NMI sent from an NMI handler waits for its IRET (no nesting) ok"
  --expect "[vm 1] vmcall: echo 0x41 -> 0x42 ok"
  --expect "[vm 1] all checks passed"
  --expect "vm 1: destroyed (guest power-off), pool back to"
  --expect "[vm 2] memory: RAM is zeroed at start ok"
  --expect "[vm 2] wild: reading the first byte beyond RAM"
)

# `keel.vm=cpus:1-2,mem:4M keel.vm=cpus:2,mem:4M,after:1,guest:wild` on cores 1-2: the guest
# BSP's topology and x2APIC checks, INIT/SIPI of vCPU 1 (real-mode entry, the guest's own
# way to 64-bit mode), an IPI and an NMI from vCPU 0 to vCPU 1 (halted with its APIC
# enabled), then VM 2 alone on the freed core 2.
set(KEEL_X86_GUEST_SMP_MARKERS
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
  --expect "[vm 1] apic-smp: IPI 0x33 from vCPU 0 reached vCPU 1 ok"
  --expect "[vm 1] apic-smp: NMI from vCPU 0 reached vCPU 1 only ok"
  --expect "vm 1: guest power-off hypercall"
  --expect "vm 1: destroyed (guest power-off), pool back to"
  --expect "vm 2: vcpu 0 on cpu 2: 64-bit entry"
  --expect "[vm 2] memory: RAM is zeroed at start ok"
  --expect "vm 2: destroyed (fault)"
  --expect "vm 1: summary: guest power-off"
)

# `keel.vm=cpus:1-2,mem:4M,guest:mmio keel.vm=cpus:2,mem:4M,after:1`: both vCPUs hammer the
# scratch MMIO page at once, then VM 2 runs the whole suite alone on the freed core 2.
set(KEEL_X86_GUEST_MMIO_SMP_MARKERS
  --expect "vm 1: vcpu 1 on cpu 2: real-mode entry at "
  --expect "[vm 1] cpu 1 up"
  --expect "[vm 1] mmio-smp: every AP finished hammering the scratch page ok"
  --expect "[vm 1] mmio-smp: every read-back matched on every vCPU ok"
  --expect "[vm 1] mmio-smp: 4000 MMIO accesses on each of 2 vCPUs"
  --expect "vm 1: destroyed (guest power-off), pool back to"
  --expect "vm 2: vcpu 0 on cpu 2: 64-bit entry"
  --expect "[vm 2] all checks passed"
)
