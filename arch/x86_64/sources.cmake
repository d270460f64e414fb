# x86_64 image sources (the core's arch half for x86_64).
set(_a ${CMAKE_SOURCE_DIR}/arch/x86_64)
set(KEEL_ARCH_SOURCES
  ${_a}/start.S ${_a}/relocate.S ${_a}/vectors.S ${_a}/uefi_entry.S
  ${_a}/boot.cpp ${_a}/uart16550.cpp ${_a}/descriptors.cpp ${_a}/paging.cpp ${_a}/exception.cpp
  ${_a}/multiboot.cpp ${_a}/boot_modules.cpp ${_a}/platform.cpp ${_a}/topology.cpp ${_a}/cpu.cpp ${_a}/features.cpp
  ${_a}/zydis_check.cpp ${_a}/apic.cpp ${_a}/smp.cpp ${_a}/ap_boot.S
  ${_a}/virt/vm_arch.cpp ${_a}/virt/vcpu_run.cpp ${_a}/virt/cpuid_policy.cpp
  ${_a}/virt/msr_policy.cpp ${_a}/virt/devices.cpp ${_a}/virt/mmio.cpp ${_a}/virt/mmio_decode.cpp
  ${_a}/virt/guest_mem.cpp ${_a}/virt/vapic.cpp ${_a}/virt/vm_msi.cpp ${_a}/virt/linux_vm.cpp
  ${_a}/virt/lapic.cpp ${_a}/virt/ioapic.cpp ${_a}/virt/uart.cpp ${_a}/virt/pit.cpp ${_a}/virt/rtc.cpp ${_a}/virt/core_reset.cpp ${_a}/virt/fp_reset.S
  ${_a}/vmx/enable.cpp ${_a}/vmx/vmcs_setup.cpp ${_a}/vmx/vm_exit.cpp
  ${_a}/vmx/decode.cpp ${_a}/vmx/entry.S
  ${_a}/vmx/vcpu_run.cpp ${_a}/vmx/exits.cpp ${_a}/vmx/exit_common.cpp
  ${_a}/svm/enable.cpp ${_a}/svm/entry.S ${_a}/svm/vcpu_run.cpp ${_a}/svm/exits.cpp
  ${_a}/svm/insn_length.cpp ${_a}/svm/handover.cpp ${_a}/svm/vmcb_state.cpp ${_a}/virt/handover_vm.cpp ${_a}/virt/vm_adopt.cpp
  ${_a}/live_update.cpp ${_a}/handover_entry.cpp ${_a}/handover_jump.S ${_a}/handover_secondary.S ${_a}/handover_stay.cpp ${_a}/mailbox_transport.cpp ${_a}/entropy.cpp ${_a}/tsc.cpp ${_a}/cmos_clock.cpp
)
# Linux's x86 boot protocol (bzImage header, layout, zero page) and the per-VM ACPI tables.
list(APPEND KEEL_ARCH_SOURCES ${_a}/linux_boot.cpp ${_a}/guest_acpi.cpp)
# The real-mode VT-x self-test (keel.test=vmx, vmx-bad-control) runs an in-tree guest:
# test image only; the product answers that it has none (vmx/test_vm_none.cpp).
list(APPEND KEEL_TEST_IMAGE_SOURCES ${_a}/vmx/test_vm.cpp ${CMAKE_SOURCE_DIR}/tests/guest/x86_64/vmx_test_guest.S)
list(APPEND KEEL_PRODUCT_ONLY_SOURCES ${_a}/vmx/test_vm_none.cpp)
set(KEEL_ARCH_LIBS tp_zydis)
set(KEEL_ARCH_LINKER_SCRIPT ${_a}/linker.ld)
# A static PIE still linked at 2 MiB (docs/handover.md §1.4): the Multiboot and UEFI boots
# load it there and relocate nothing; relocate.S applies .rela.dyn where it runs elsewhere.
# notext: vtables and tables of pointers in .rodata are patched before paging protects it.
set(KEEL_ARCH_LINK_OPTIONS -Wl,--pie -Wl,--no-dynamic-linker -Wl,--apply-dynamic-relocs
    -Wl,-z,notext -Wl,-z,norelro -Wl,--hash-style=sysv)
set(KEEL_ARCH_POST_LINK_CHECK python3 ${CMAKE_SOURCE_DIR}/tools/check-pie-relocs)
# Files that are pure logic and also run in the host unit tests.
set(KEEL_ARCH_HOST_TESTABLE ${_a}/topology.cpp ${_a}/boot_modules.cpp ${_a}/vmx/decode.cpp ${_a}/virt/mmio_decode.cpp
  ${_a}/svm/insn_length.cpp ${_a}/linux_boot.cpp ${_a}/guest_acpi.cpp ${_a}/virt/lapic.cpp
  ${_a}/virt/ioapic.cpp ${_a}/virt/uart.cpp ${_a}/virt/pit.cpp ${_a}/virt/rtc.cpp ${_a}/svm/vmcb_state.cpp)

# GRUB rescue ISOs for Bochs (BIOS + cdrom), from the test image: keel-x86_64.iso boots it with
# multiboot2; the -fault, -vmx and -vmx-bad-control ISOs add keel.test=<variant>
# (GRUB's menu entry is the only way to pass a command line there).
function(keel_arch_post_build image)
  include(${CMAKE_SOURCE_DIR}/tests/guest/x86_64/vm/guest.cmake)
  keel_embed_x86_guest(${image})
  find_program(KEEL_GRUB_MKRESCUE grub-mkrescue)
  if(NOT KEEL_GRUB_MKRESCUE)
    # The .bin still builds (QEMU needs nothing else); the Bochs tests will say the ISO is missing.
    message(WARNING "grub-mkrescue not found (grub-pc-bin, xorriso, mtools): no Bochs ISOs")
    return()
  endif()
  set(_isos)
  # keel.vm= variants (VMs on core 1; Bochs needs count=2, see tests/emu/x86_64_vms.tests.cmake).
  set(_args_vms " keel.vm=cpus:1,mem:4M keel.vm=cpus:1,mem:4M,after:1,guest:wild")
  set(_args_vm-bench " keel.vm=cpus:1,mem:4M,guest:bench")
  # Two vCPUs (cores 1-2, Bochs count=3), then a VM on core 2 alone once it is freed.
  set(_args_vm-smp " keel.vm=cpus:1-2,mem:4M keel.vm=cpus:2,mem:4M,after:1,guest:wild")
  # Two vCPUs hammering the scratch MMIO page at once (issue 10 item 11), then a VM on
  # core 2 alone: the hypervisor must survive the first and still serve the second.
  set(_args_vm-mmio " keel.vm=cpus:1-2,mem:4M,guest:mmio keel.vm=cpus:2,mem:4M,after:1")
  # Register state must not cross VMs: fill on core 1, the next VM there checks.
  set(_args_vm-regs " keel.vm=cpus:1,mem:4M,guest:regfill keel.vm=cpus:1,mem:4M,after:1,guest:regcheck")
  # The reset register under VMX: VM 1 resets itself, VM 2 then runs on the freed core.
  set(_args_vm-reset " keel.vm=cpus:1,mem:4M,guest:reset keel.vm=cpus:1,mem:4M,after:1")
  set(_variants plain fault vmx vmx-bad-control smp vms vm-bench vm-smp vm-regs vm-mmio vm-reset)
  # Debian's amd64 Linux as VM 1 (tests/emu/x86_64_vmx_linux.tests.cmake), when
  # tools/fetch-guests.sh has fetched it: GRUB loads the bzImage and the initramfs as
  # modules, Keel moves them to their keel.load= addresses (docs/boot-info.md, "Boot
  # modules") and the definition names them there. In `linux` a third module asks for an
  # address inside the bzImage's destination and must be refused, the other two still
  # moved; `linux-smp` gives the VM two vCPUs (cores 1-2, Bochs count=3).
  set(_xk ${KEEL_GUESTS_DIR}/bzImage-amd64)
  set(_xr ${KEEL_GUESTS_DIR}/initramfs-amd64.cpio.gz)
  if(EXISTS ${_xk} AND EXISTS ${_xr})
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_xr})
    file(SIZE ${_xr} _xr_size)
    set(_linux_def "mem:128M,kernel:0x30000000,initrd:0x34000000+${_xr_size},args:console=ttyS0+quiet")
    set(_args_linux " keel.vm=cpus:1,${_linux_def}")
    set(_args_linux-smp " keel.vm=cpus:1-2,${_linux_def}")
    string(LENGTH "${_args_linux-smp}" _len)
    if(_len GREATER 255) # BootInfo::kCmdlineMax, NUL included
      message(FATAL_ERROR "the Linux ISOs' command line is ${_len} bytes; Keel keeps 255")
    endif()
    set(_linux_mods "  module2 --nounzip /boot/bzImage keel.load=0x30000000\n  module2 --nounzip /boot/initramfs keel.load=0x34000000\n")
    set(_mods_linux "${_linux_mods}  module2 --nounzip /boot/initramfs keel.load=0x30200000\n")
    set(_mods_linux-smp "${_linux_mods}")
    foreach(_v linux linux-smp)
      set(_copy_${_v} COMMAND ${CMAKE_COMMAND} -E copy ${_xk} ${CMAKE_CURRENT_BINARY_DIR}/iso-stage-${_v}/boot/bzImage
                      COMMAND ${CMAKE_COMMAND} -E copy ${_xr} ${CMAKE_CURRENT_BINARY_DIR}/iso-stage-${_v}/boot/initramfs)
      set(_deps_${_v} ${_xk} ${_xr})
    endforeach()
    list(APPEND _variants linux linux-smp)
  endif()
  foreach(_variant ${_variants})
    if(DEFINED _args_${_variant})
      set(_suffix "-${_variant}")
      set(_args "${_args_${_variant}}")
    elseif(NOT _variant STREQUAL "plain")
      set(_suffix "-${_variant}")
      set(_args " keel.test=${_variant}")
    else()
      set(_suffix "")
      set(_args "")
    endif()
    set(_stage ${CMAKE_CURRENT_BINARY_DIR}/iso-stage${_suffix})
    set(_cfg ${CMAKE_CURRENT_BINARY_DIR}/grub${_suffix}.cfg)
    set(_iso ${CMAKE_CURRENT_BINARY_DIR}/${image}${_suffix}.iso)
    file(WRITE ${_cfg}.in "set timeout=0\nset default=0\nmenuentry \"Keel\" {\n  multiboot2 /boot/keel.bin${_args}\n${_mods_${_variant}}  boot\n}\n")
    configure_file(${_cfg}.in ${_cfg} COPYONLY) # rewritten only when the text changes
    add_custom_command(OUTPUT ${_iso}
      COMMAND ${CMAKE_COMMAND} -E rm -rf ${_stage}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${_stage}/boot/grub
      COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_CURRENT_BINARY_DIR}/${image}-test.bin ${_stage}/boot/keel.bin
      COMMAND ${CMAKE_COMMAND} -E copy ${_cfg} ${_stage}/boot/grub/grub.cfg
      ${_copy_${_variant}}
      COMMAND ${KEEL_GRUB_MKRESCUE} -d /usr/lib/grub/i386-pc --fonts= --locales= --themes=
              -o ${_iso} ${_stage} > ${CMAKE_CURRENT_BINARY_DIR}/grub-mkrescue${_suffix}.log 2>&1
      DEPENDS ${image}-test.elf ${_cfg} ${_deps_${_variant}}
      COMMENT "GRUB ISO ${image}${_suffix}.iso"
      VERBATIM)
    list(APPEND _isos ${_iso})
  endforeach()
  add_custom_target(${image}-iso ALL DEPENDS ${_isos})
endfunction()
