# drivers/sriov: pure logic, in both images and the host unit tests.
list(APPEND KEEL_CORE_SOURCES
  ${CMAKE_SOURCE_DIR}/drivers/sriov/sriov_cap.cpp
  ${CMAKE_SOURCE_DIR}/drivers/sriov/vf_table.cpp
  ${CMAKE_SOURCE_DIR}/drivers/sriov/vf_assign.cpp
  ${CMAKE_SOURCE_DIR}/drivers/sriov/vf_config.cpp
  ${CMAKE_SOURCE_DIR}/drivers/sriov/root_port.cpp
  ${CMAKE_SOURCE_DIR}/drivers/sriov/guest_bus.cpp
)
list(APPEND KEEL_CORE_SOURCES
  ${CMAKE_SOURCE_DIR}/drivers/sriov/nvme_cmd.cpp
  ${CMAKE_SOURCE_DIR}/drivers/sriov/nvme_admin.cpp
  ${CMAKE_SOURCE_DIR}/drivers/sriov/nvme_pf.cpp
)
# Image only: the boot-time bring-up that drives them (hypervisor/io/).
list(APPEND KEEL_CORE_IMAGE_SOURCES
  ${CMAKE_SOURCE_DIR}/hypervisor/io/sriov_boot.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/io/iommu_boot.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/io/vf_dma_check.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/io/vm_vfs.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/io/io_region.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/io/io_handover.cpp
)
# drivers/iommu: the SMMUv3 driver (pure logic over Mmio), both images and host tests.
list(APPEND KEEL_CORE_SOURCES
  ${CMAKE_SOURCE_DIR}/drivers/iommu/smmuv3_defs.cpp
  ${CMAKE_SOURCE_DIR}/drivers/iommu/smmuv3.cpp
  ${CMAKE_SOURCE_DIR}/drivers/iommu/vtd.cpp
)
