# x86_64 first light (issue "Foundation"): QEMU TCG with AMD SVM, both Multiboot1
# (-kernel, flat image with the a.out kludge) on pc and q35, and Bochs (Intel VMX with
# EPT) booting the same image from a GRUB multiboot2 ISO.
set(_img ${KEEL_IMAGE_x86_64})
set(KEEL_ISO_x86_64 ${CMAKE_BINARY_DIR}/x86_64/keel-x86_64.iso)
set(KEEL_ISO_FAULT_x86_64 ${CMAKE_BINARY_DIR}/x86_64/keel-x86_64-fault.iso)

# QEMU pc (i440fx, no MCFG), 2 CPUs, 512 MiB. power_off(0) -> isa-debug-exit -> status 1.
keel_emu_test(NAME x86_64.first_light LABEL qemu-x86_64 TIMEOUT 60 ARGS
  --machine qemu-x86_64 --image ${_img} --cpu max --smp 2 --mem 512M --wait-exit --exit-code 1
  --expect "x86_64: own page tables on"
  --expect "Keel hypervisor"
  --expect "boot: source multiboot1 (direct), image 0x200000"
  --expect "platform: memory 0x0-0x9fbff usable (639 KiB)"
  --expect "platform: memory 0x100000-0x1ffdffff usable (510 MiB)"
  --expect "platform: memory 0x200000-"
  --expect "platform: 2 cpus"
  --expect "platform: cpu 1 hwid 0x1"
  --expect "platform: irq controller APIC dist 0xfec00000 redist 0xfee00000"
  --expect "platform: uart 0x3f8"
  --expect "platform: pcie ecam none"
  --expect "virt: VMX no"
  --expect "virt: SVM yes, NPT yes, ASIDs 16"
  --expect "zydis: mov [rax+0x8], rbx decoded (4 bytes)"
  --expect "zydis: mov ecx, [rip+0x10] decoded (6 bytes)"
  --expect "keel: first light complete"
  --expect "crypto: self-check passed"
  --expect "keel: power off (status 0)")

# QEMU q35: the MCFG table gives the PCIe ECAM window (QEMU 7.2: 0xb0000000, 256 buses).
keel_emu_test(NAME x86_64.q35_first_light LABEL qemu-x86_64 TIMEOUT 60 ARGS
  --machine qemu-x86_64 --machine-type q35 --image ${_img} --cpu max --smp 2 --mem 512M
  --wait-exit --exit-code 1
  --expect "boot: source multiboot1 (direct)"
  --expect "platform: 2 cpus"
  --expect "platform: irq controller APIC"
  --expect "platform: pcie ecam 0xb0000000 size 0x10000000 buses 0-255"
  --expect "virt: SVM yes, NPT yes"
  --expect "keel: first light complete"
  --expect "crypto: self-check passed")

# SMT (issue 16): q35 with 2 threads per core and two NUMA nodes. CPUID leaf 0x0B gives
# the APIC id's thread and core fields (CPU i = thread i%2 of core i/2), the SRAT the
# nodes (cpus 0-1 node 0, 2-3 node 1), each checked from the boot output.
keel_emu_test(NAME x86_64.q35_smt_numa LABEL qemu-x86_64 TIMEOUT 60 ARGS
  --machine qemu-x86_64 --machine-type q35 --image ${_img} --cpu max
  --smp 4,sockets=1,cores=2,threads=2 --mem 1G
  --wait-exit --exit-code 1
  --expect "platform: 4 cpus: 1 packages, 2 cores, 2 NUMA nodes"
  --expect "platform: cpu 1 hwid 0x1 package 0 core 0 thread 1 node 0"
  --expect "platform: cpu 2 hwid 0x2 package 0 core 1 thread 0 node 1"
  --expect "platform: cpu 3 hwid 0x3 package 0 core 1 thread 1 node 1"
  --expect "platform: NUMA node 1 memory 0x20000000-0x3fffffff"
  --expect "keel: first light complete"
  -- -object memory-backend-ram,id=m0,size=512M -object memory-backend-ram,id=m1,size=512M
     -numa node,nodeid=0,cpus=0-1,memdev=m0 -numa node,nodeid=1,cpus=2-3,memdev=m1)

# A deliberate read of unmapped 1 GiB must be reported as #PF with CR2 and halt.
keel_emu_test(NAME x86_64.exception_report LABEL qemu-x86_64 TIMEOUT 60 ARGS
  --machine qemu-x86_64 --image ${_img} --cpu max --append keel.test=fault
  --no-default-fail --fail "KEEL PANIC" --fail "first light complete"
  --expect "test: triggering a deliberate fault"
  --expect "KEEL EXCEPTION: vector 14 (#PF page fault) error code 0x0"
  --expect "page fault: not-present read access"
  --expect "RIP 0x"
  --expect "CR2 0x0000000040000000  CR3 0x"
  --expect "R15 ")

# Bochs 2.7 (corei7_skylake_x: VMX, EPT, VPID, unrestricted guest), BIOS -> GRUB ->
# multiboot2; about 4 s. Bochs quits on the "Shutdown" write to port 0x8900 with
# status 1, the same status as a fatal Bochs panic, so only the exit itself is checked.
keel_emu_test(NAME bochs.first_light LABEL bochs-vmx TIMEOUT 120 SERIAL ARGS
  --machine bochs --image ${KEEL_ISO_x86_64} --mem 128M --wait-exit
  --expect "boot: source multiboot2 (direct), image 0x200000"
  --expect "platform: memory 0x100000-0x7feffff usable (126 MiB)"
  --expect "platform: 1 cpus"
  --expect "platform: irq controller APIC dist 0xfec00000 redist 0xfee00000"
  --expect "virt: VMX yes, VMX_BASIC 0x00d810000000002b, EPT yes, VPID yes, unrestricted guest yes"
  --expect "virt: SVM no"
  --expect "zydis: mov [rax+0x8], rbx decoded (4 bytes)"
  --expect "keel: first light complete"
  --expect "crypto: self-check passed"
  --expect "keel: power off (status 0)")

# Same fault test through GRUB: keel-x86_64-fault.iso's menu entry passes keel.test=fault.
keel_emu_test(NAME bochs.exception_report LABEL bochs-vmx TIMEOUT 120 SERIAL ARGS
  --machine bochs --image ${KEEL_ISO_FAULT_x86_64} --mem 128M
  --no-default-fail --fail "KEEL PANIC" --fail "first light complete"
  --expect "cmdline \"keel.test=fault\""
  --expect "test: triggering a deliberate fault"
  --expect "KEEL EXCEPTION: vector 14 (#PF page fault)"
  --expect "CR2 0x0000000040000000"
  --expect "R15 ")
