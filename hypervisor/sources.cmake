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
  ${CMAKE_SOURCE_DIR}/hypervisor/acpi/dmar.cpp
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
  ${CMAKE_SOURCE_DIR}/hypervisor/mailbox/update.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/mailbox/adopt.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/update/image_check.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/update/image_note.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/update/handover.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/update/place.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/update/adopt_pool.cpp
  ${CMAKE_SOURCE_DIR}/boot/image/keel_image.cpp
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
  ${CMAKE_SOURCE_DIR}/hypervisor/update/trust_key.S
  ${CMAKE_SOURCE_DIR}/hypervisor/update/describe_pool.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/update/report.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/update/take_over.cpp
)
# The public keys come from the host build next to this sub-build (<build>/keys/, written
# before the images build): the controller's (`keelctl keygen`, tools/tools.cmake) and the
# one keel.img is signed with (boot/boot.cmake). Without a file the image carries zeros.
function(keel_embed_key var file source define why)
  set(${var} "${file}" CACHE FILEPATH "${why} (97-byte SEC1 point)")
  if(EXISTS ${${var}})
    set_source_files_properties(${source} PROPERTIES OBJECT_DEPENDS ${${var}}
      COMPILE_DEFINITIONS "${define}=\"${${var}}\"")
  else()
    message(STATUS "no key at ${${var}}: ${why} is missing (zeros embedded)")
  endif()
endfunction()
if(KEEL_TARGET_ARCH)
  get_filename_component(_keel_host_build ${CMAKE_BINARY_DIR} DIRECTORY)
  keel_embed_key(KEEL_CONTROLLER_KEY "${_keel_host_build}/keys/controller.pub"
    ${CMAKE_SOURCE_DIR}/hypervisor/mailbox/controller_key.S KEEL_CONTROLLER_KEY_FILE
    "the controller key the mailbox authenticates")
  # An incoming keel.img for live update must carry the boot stage's signature.
  keel_embed_key(KEEL_IMAGE_TRUST_KEY "${_keel_host_build}/keys/image-trust.pub"
    ${CMAKE_SOURCE_DIR}/hypervisor/update/trust_key.S KEEL_IMAGE_TRUST_KEY_FILE
    "the image signing key live update checks")
endif()
