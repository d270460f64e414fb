# arm64 partitioning and VMs (issue 3): secondary cores, pool scrubber, stage-2, world
# switch, exits. A separate list so other arm64 work can edit sources.cmake freely.
list(APPEND KEEL_ARCH_SOURCES
  ${_a}/secondary.S ${_a}/world_switch.S
  ${_a}/smp.cpp ${_a}/el2_setup.cpp ${_a}/scrubber.cpp ${_a}/vm_arch.cpp ${_a}/vcpu_run.cpp
  ${_a}/gic_phys.cpp ${_a}/vgic.cpp ${_a}/vgic_mmio.cpp ${_a}/vuart.cpp ${_a}/vpsci.cpp
  ${_a}/linux_loader.cpp ${_a}/guest_dtb.cpp ${_a}/mailbox_transport.cpp ${_a}/entropy.cpp
  ${_a}/core_reset.cpp ${_a}/fp_reset.S ${_a}/vgpio.cpp ${_a}/live_update.cpp
  ${_a}/handover_jump.S ${_a}/handover_entry.cpp ${_a}/handover_stay.cpp ${_a}/handover_records.cpp ${_a}/vm_adopt.cpp
  ${_a}/its.cpp ${_a}/vm_msi.cpp
)
# Pure logic the host unit tests also build (libfdt is linked there too).
list(APPEND KEEL_ARCH_HOST_TESTABLE ${_a}/guest_dtb.cpp ${_a}/handover_records.cpp)
# The test image embeds the test guest (built by the same cross toolchain).
if(KEEL_TARGET_ARCH STREQUAL "arm64")
  include(${CMAKE_SOURCE_DIR}/tests/guest/arm64/guest.cmake)
  function(keel_arch_post_build image)
    keel_embed_test_guest(${image})
  endfunction()
endif()
