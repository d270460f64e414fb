# Source lists shared by the image and host builds. Each folder lists its own files
# in a sources.cmake so adding a file never touches another folder's list.
include(${CMAKE_SOURCE_DIR}/hypervisor/sources.cmake)   # KEEL_CORE_SOURCES
include(${CMAKE_SOURCE_DIR}/crypto/sources.cmake)       # KEEL_CRYPTO_SOURCES
include(${CMAKE_SOURCE_DIR}/drivers/sriov/sources.cmake) # SR-IOV, NVMe PF, SMMUv3 (issue 13)
