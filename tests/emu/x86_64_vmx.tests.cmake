# x86_64 Intel VT-x with EPT (issue 4, first step), Bochs corei7_skylake_x, one CPU.
# The ISOs pass keel.test=vmx / keel.test=vmx-bad-control (arch/x86_64/sources.cmake).
set(KEEL_ISO_VMX_x86_64 ${CMAKE_BINARY_DIR}/x86_64/keel-x86_64-vmx.iso)
set(KEEL_ISO_VMX_BAD_x86_64 ${CMAKE_BINARY_DIR}/x86_64/keel-x86_64-vmx-bad-control.iso)

# The real-mode test guest (tests/guest/x86_64/vmx_test_guest.S) under EPT + VPID +
# unrestricted guest: console via trapped OUT, filtered CPUID, VMCALL, RDMSR with an
# injected #GP, HLT ends the VM.
keel_emu_test(NAME bochs.vmx_guest LABEL bochs-vmx TIMEOUT 60 SERIAL ARGS
  --machine bochs --image ${KEEL_ISO_VMX_x86_64} --mem 128M --wait-exit
  --fail "VM entry failed" --fail "stopping the VM"
  --expect "vmx: VMXON ok (revision 0x2b"
  --expect "(2 MiB from the frame pool), EPTP 0x"
  --expect "[vm 1] hello from a real-mode guest under VT-x"
  --expect "[vm 1] cpuid 0 vendor GenuineIntel"
  --expect "(VMX bit 5 cleared, hypervisor bit 31 set)"
  --expect "[vm 1] cpuid 1 vmx=0 hypervisor=1"
  --expect "[vm 1] cpuid 0x40000000 signature KeelKeelKeel"
  --expect "vm 1: vmcall nr 1 arg 0x41 -> 0x42"
  --expect "[vm 1] vmcall echo 0x41 -> 0x42 ok"
  --expect "[vm 1] rdmsr IA32_PAT = 0x0007040600070406 ok"
  --expect "vm 1: rdmsr 0x480 forbidden -> injecting #GP"
  --expect "[vm 1] rdmsr IA32_VMX_BASIC -> #GP caught by the guest IVT"
  --expect "vm 1: halted, exits: cpuid 3, io 268, vmcall 1, rdmsr 2 (#GP injected 1)"
  --expect "test: vmx done"
  --expect "keel: power off (status 0)")

# Failures that must be reported, not hang: a control the TRUE capability MSR forbids
# (caught by the allowed-0/1 computation), a forbidden control written directly
# (VM-instruction error 7), and invalid guest state (exit reason 33 with bit 31).
keel_emu_test(NAME bochs.vmx_bad_control LABEL bochs-vmx TIMEOUT 60 SERIAL ARGS
  --machine bochs --image ${KEEL_ISO_VMX_BAD_x86_64} --mem 128M --wait-exit
  --expect "cmdline \"keel.test=vmx-bad-control\""
  --expect "vmx: pin-based VM-execution control bits 0x40000000 cannot be set (MSR 0x48d"
  --expect "vmx: VM entry failed: VM-instruction error 7 (VM entry with invalid control field(s))"
  --expect "vmx: VM-entry failure (bit 31 set): exit reason 33 (VM-entry failure due to invalid guest state), qualification 0"
  --expect "test: vmx done"
  --expect "keel: power off (status 0)")
