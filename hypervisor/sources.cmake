# Arch-independent core: builds into both images and the host unit tests.
set(KEEL_CORE_SOURCES
  ${CMAKE_SOURCE_DIR}/hypervisor/status.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/print.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/cmdline.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/platform.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/acpi/tables.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/acpi/madt.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/acpi/mcfg.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/acpi/fadt.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/acpi/spcr.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/acpi/pptt.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/acpi/srat.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/acpi/gtdt.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/acpi/iort.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/acpi/platform_acpi.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/mm/frame_pool.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/mm/table_pool.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/panic.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/vm/vm_def.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/vm/partitions.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/vm/vm_manager.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/vm/boot_vms.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/vm/vm_control.cpp
)
# Entry into the core from the arch's boot path; image only (host tests call pieces).
set(KEEL_CORE_IMAGE_SOURCES
  ${CMAKE_SOURCE_DIR}/hypervisor/main.cpp
)

# --- controller mailbox (issue 5; docs/mailbox.md) -------------------------------------
# Pure logic (layout, rings, decode, auth, audit chain, lifecycle, service) and the PCIe
# discovery in drivers/pci/: host-tested, fuzzed, and built into both images.
list(APPEND KEEL_CORE_SOURCES
  ${CMAKE_SOURCE_DIR}/hypervisor/entropy/seed.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/mailbox/shared.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/mailbox/command.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/mailbox/session.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/mailbox/session_crypto.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/mailbox/audit.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/mailbox/service.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/mailbox/rejects.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/mailbox/dispatch.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/mailbox/console.cpp
  ${CMAKE_SOURCE_DIR}/drivers/pci/ecam.cpp
  ${CMAKE_SOURCE_DIR}/drivers/pci/bar_place.cpp
  ${CMAKE_SOURCE_DIR}/drivers/pci/claims.cpp
  ${CMAKE_SOURCE_DIR}/drivers/pci/flr.cpp
)
# Image only: the boot-core loop and the controller public key embedded in the image
# (mailbox/controller_key.S).
list(APPEND KEEL_CORE_IMAGE_SOURCES
  ${CMAKE_SOURCE_DIR}/hypervisor/mailbox/mailbox_main.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/mailbox/controller_key.S
)
# The controller key comes from the host build next to this sub-build (<build>/keys/,
# written by `keelctl keygen` before the images build; tools/tools.cmake).
if(KEEL_TARGET_ARCH)
  get_filename_component(_keel_host_build ${CMAKE_BINARY_DIR} DIRECTORY)
  set(KEEL_CONTROLLER_KEY "${_keel_host_build}/keys/controller.pub" CACHE FILEPATH
      "controller public key (97-byte SEC1 point) embedded for the mailbox")
  set(_ck ${CMAKE_SOURCE_DIR}/hypervisor/mailbox/controller_key.S)
  if(EXISTS ${KEEL_CONTROLLER_KEY})
    set_source_files_properties(${_ck} PROPERTIES OBJECT_DEPENDS ${KEEL_CONTROLLER_KEY}
      COMPILE_DEFINITIONS "KEEL_CONTROLLER_KEY_FILE=\"${KEEL_CONTROLLER_KEY}\"")
  else()
    message(STATUS "no controller key at ${KEEL_CONTROLLER_KEY}: the mailbox will authenticate nothing")
  endif()
endif()
