# Arch-independent core: builds into both images and the host unit tests.
set(KEEL_CORE_SOURCES
  ${CMAKE_SOURCE_DIR}/hypervisor/status.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/print.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/cmdline.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/platform.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/mm/frame_pool.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/vm/vm_def.cpp
)
# Entry into the core from the arch's boot path; image only (host tests call pieces).
set(KEEL_CORE_IMAGE_SOURCES
  ${CMAKE_SOURCE_DIR}/hypervisor/main.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/panic.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/vm/partitions.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/vm/vm_manager.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/vm/arch_vm_fallback.cpp
)
