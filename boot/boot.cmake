# The UEFI boot stage (boot/README.md), the keel.img format library, the signing keys
# and the test disks. Included at the end of cmake/host.cmake (host world only).
#
#   keel_image           boot/image/ validator for host tools and tests (always)
#   boot-efi-arm64/x86_64  BOOTAA64.EFI / BOOTX64.EFI (clang *-unknown-windows + lld-link)
#   uefi-disks-<arch>    signed keel.img + GPT/ESP disks (good and refusal variants)
# All but keel_image (and the signing keys) only with KEEL_BUILD_IMAGES (cmake/host.cmake).

set(KEEL_BOOT_SECURITY_FLOOR 1 CACHE STRING "security-version floor built into the boot stage")
set(KEEL_SIGNING_KEY "" CACHE FILEPATH
    "PEM private key that signs keel.img (empty: a development key generated in <build>/keys)")
set(KEEL_SIGNING_PUBLIC_KEY "" CACHE FILEPATH
    "public key built into the boot stage (empty: the one of KEEL_SIGNING_KEY / the development key)")

# --- the format library ---------------------------------------------------------------
# keel_image.cpp is part of the core (hypervisor/sources.cmake): live update runs it too.
add_library(keel_image INTERFACE)
target_link_libraries(keel_image INTERFACE keel_core_host)
target_link_libraries(keel_unit_tests PRIVATE keel_image keel_sign_host)
# The stage's memory-map translation, host-tested beside the format library.
target_sources(keel_unit_tests PRIVATE ${CMAKE_SOURCE_DIR}/boot/memory_map.cpp)

# Everything below builds the EFI applications and the signed test disks (clang only).
if(NOT KEEL_BUILD_IMAGES)
  return()
endif()

# --- keys (never in the source tree) --------------------------------------------------
set(KEEL_KEY_DIR ${CMAKE_BINARY_DIR}/keys)
set(_dev_key ${KEEL_KEY_DIR}/dev-signing.pem)
set(_dev_pub ${KEEL_KEY_DIR}/dev-signing.pub)
set(_other_key ${KEEL_KEY_DIR}/test-other.pem)
set(_other_pub ${KEEL_KEY_DIR}/test-other.pub)
add_custom_command(OUTPUT ${_dev_key} ${_dev_pub} ${_other_key} ${_other_pub}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${KEEL_KEY_DIR}
  COMMAND keel-sign keygen --keep-existing --private ${_dev_key} --public ${_dev_pub}
  COMMAND keel-sign keygen --keep-existing --private ${_other_key} --public ${_other_pub}
  COMMENT "Development signing keys in ${KEEL_KEY_DIR} (generated once, never committed)"
  VERBATIM)
if(KEEL_SIGNING_KEY)
  set(KEEL_SIGN_KEY ${KEEL_SIGNING_KEY})
else()
  set(KEEL_SIGN_KEY ${_dev_key})
endif()
if(KEEL_SIGNING_PUBLIC_KEY)
  set(_pub_arg --public ${KEEL_SIGNING_PUBLIC_KEY})
else()
  set(_pub_arg --private ${KEEL_SIGN_KEY})
endif()
set(_key_header ${CMAKE_BINARY_DIR}/boot/gen/keel_boot_key.h)
# The same key as a raw point for the images (live update, hypervisor/update/trust_key.S).
set(_trust_pub ${KEEL_KEY_DIR}/image-trust.pub)
add_custom_command(OUTPUT ${_key_header} ${_trust_pub}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/boot/gen
  COMMAND keel-sign pubkey ${_pub_arg} --c-header ${_key_header} --out ${_trust_pub}
  DEPENDS ${_dev_key} ${_dev_pub} ${KEEL_SIGNING_KEY} ${KEEL_SIGNING_PUBLIC_KEY}
  COMMENT "Boot stage public key header"
  VERBATIM)
add_custom_target(keel-keys DEPENDS ${_dev_key} ${_dev_pub} ${_other_key} ${_other_pub} ${_key_header}
                  ${_trust_pub})
foreach(_arch arm64 x86_64)
  add_dependencies(image-${_arch} keel-keys) # the images embed image-trust.pub
endforeach()

# --- the EFI applications ---------------------------------------------------------------
set(_mbed ${KEEL_DEPS_DIR}/mbedtls)
set(_boot_mbed asn1parse asn1write bignum bignum_core constant_time ecdsa ecp ecp_curves md
    platform platform_util sha256 sha512)
list(TRANSFORM _boot_mbed PREPEND ${_mbed}/library/)
list(TRANSFORM _boot_mbed APPEND .c)
set(_boot_own
  ${CMAKE_SOURCE_DIR}/boot/main.cpp ${CMAKE_SOURCE_DIR}/boot/console.cpp ${CMAKE_SOURCE_DIR}/boot/measure.cpp
  ${CMAKE_SOURCE_DIR}/boot/memory_map.cpp ${CMAKE_SOURCE_DIR}/boot/tpm_floor.cpp
  ${CMAKE_SOURCE_DIR}/boot/entropy.cpp
  ${CMAKE_SOURCE_DIR}/boot/image/keel_image.cpp
  ${CMAKE_SOURCE_DIR}/crypto/arena.cpp ${CMAKE_SOURCE_DIR}/crypto/ecdsa.cpp ${CMAKE_SOURCE_DIR}/crypto/sha2.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/print.cpp ${CMAKE_SOURCE_DIR}/hypervisor/status.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/acpi/tables.cpp
  ${CMAKE_SOURCE_DIR}/hypervisor/libc/string.cpp)
set(_efi_common -ffreestanding -fno-builtin -nostdlibinc -fno-stack-protector -mno-stack-arg-probe -DEFIX64
    -U_WIN32 -U_WIN64 -U__MINGW32__ -U__MINGW64__  # mbedTLS: a bare UEFI target, not Windows
    -ffunction-sections -fdata-sections -O2
    -I${CMAKE_SOURCE_DIR} -I${CMAKE_SOURCE_DIR}/boot/efi/include -I${CMAKE_BINARY_DIR}/boot/gen
    -isystem ${CMAKE_SOURCE_DIR}/hypervisor/libc/include -isystem ${_mbed}/include
    -I${CMAKE_SOURCE_DIR}/crypto/config "-DMBEDTLS_CONFIG_FILE=\"keel_mbedtls_config.h\""
    "-DKEEL_VERSION_STRING=\"${PROJECT_VERSION}\"" -DKEEL_BOOT_SECURITY_FLOOR=${KEEL_BOOT_SECURITY_FLOOR}u)

# keel_efi_app(arch clang-triple arch-flags lld-machine output-name)
function(keel_efi_app arch triple flags machine name)
  set(_dir ${CMAKE_BINARY_DIR}/boot/${arch})
  set(_objs)
  foreach(_src ${_boot_own} ${CMAKE_SOURCE_DIR}/boot/arch_${arch}.cpp ${CMAKE_SOURCE_DIR}/boot/handoff_${arch}.S
          ${_boot_mbed})
    get_filename_component(_n ${_src} NAME)
    get_filename_component(_parent ${_src} DIRECTORY)
    get_filename_component(_parent ${_parent} NAME)
    set(_obj ${_dir}/obj/${_parent}_${_n}.obj)
    if(_src MATCHES "\\.c$")
      set(_lang -std=c11 -w -I${_mbed}/library)
    elseif(_src MATCHES "\\.cpp$")
      set(_lang -std=c++20 -fno-exceptions -fno-rtti -fno-threadsafe-statics ${KEEL_WARNINGS})
    else()
      set(_lang)
    endif()
    add_custom_command(OUTPUT ${_obj}
      COMMAND ${CMAKE_C_COMPILER} --target=${triple} ${flags} ${_efi_common} ${_lang}
              -MD -MF ${_obj}.d -c ${_src} -o ${_obj}
      DEPENDS ${_src} ${_key_header}
      DEPFILE ${_obj}.d
      COMMAND_EXPAND_LISTS VERBATIM)
    list(APPEND _objs ${_obj})
  endforeach()
  set(_efi ${_dir}/${name})
  add_custom_command(OUTPUT ${_efi}
    COMMAND lld-link /nologo /subsystem:efi_application /entry:efi_main /nodefaultlib /opt:ref
            /machine:${machine} /out:${_efi} ${_objs}
    DEPENDS ${_objs}
    COMMENT "UEFI boot stage ${name}"
    VERBATIM)
  add_custom_target(boot-efi-${arch} ALL DEPENDS ${_efi})
  set(KEEL_BOOT_EFI_${arch} ${_efi} PARENT_SCOPE)
endfunction()

keel_efi_app(arm64 aarch64-unknown-windows-gnu "-mgeneral-regs-only" arm64 BOOTAA64.EFI)
keel_efi_app(x86_64 x86_64-unknown-windows-gnu "-mno-red-zone;-mno-sse;-mno-mmx;-mno-80387" x64 BOOTX64.EFI)

# --- signed images and test disks -------------------------------------------------------
# boot/make-disks signs keel.img from the image sub-build's ELF (a file Ninja cannot see,
# hence an always-run target that rebuilds only what is stale) and writes one disk per
# test case with tools/mkdisk.
foreach(arch arm64 x86_64)
  set(_out ${CMAKE_BINARY_DIR}/uefi/${arch})
  add_custom_target(uefi-disks-${arch} ALL
    COMMAND python3 ${CMAKE_SOURCE_DIR}/boot/make-disks --arch ${arch}
            --keel-sign $<TARGET_FILE:keel-sign> --elf ${KEEL_ELF_${arch}} --efi ${KEEL_BOOT_EFI_${arch}}
            --key ${KEEL_SIGN_KEY} --other-key ${_other_key} --out ${_out}
            --hv-version ${PROJECT_VERSION} --mkdisk ${CMAKE_SOURCE_DIR}/tools/mkdisk
    COMMENT "keel.img and UEFI test disks (${arch})"
    VERBATIM)
  add_dependencies(uefi-disks-${arch} keel-sign keel-keys boot-efi-${arch} image-${arch})
  set(KEEL_UEFI_DIR_${arch} ${_out})
endforeach()

# --- the keel.cfg demo disk ------------------------------------------------------------------
# A signed arm64 test image (the product plus the in-tree test guest, cmake/image.cmake)
# and a keel.cfg: the hypervisor command line, read and measured by the boot stage
# (boot/README.md "Boot configuration"). It defines two test-guest VMs. The README's main
# command uses the product keel.img and the mailbox instead (tools/keel demo).
set(KEEL_DEMO_CMDLINE "keel.vm=cpus:1,mem:64M keel.vm=cpus:2-3,mem:128M" CACHE STRING
    "hypervisor command line written to keel.cfg on the demo disk")
set(KEEL_DEMO_DISK ${CMAKE_BINARY_DIR}/uefi/demo-arm64/disk.img)
# One disk per arch: uefi/demo-<arch>/disk.img (x86_64: the image's 64-bit UEFI entry, not
# the Multiboot e_entry; its VMs run under SVM on QEMU's q35 with OVMF).
set(_demo_cmds)
foreach(arch arm64 x86_64)
  set(_d ${CMAKE_BINARY_DIR}/uefi/demo-${arch})
  set(_entry)
  if(arch STREQUAL "x86_64")
    set(_entry --entry-symbol keel_uefi_entry)
  endif()
  list(APPEND _demo_cmds
    COMMAND ${CMAKE_COMMAND} -E make_directory ${_d}
    COMMAND ${CMAKE_COMMAND} -E echo "${KEEL_DEMO_CMDLINE}" > ${_d}/keel.cfg
    COMMAND $<TARGET_FILE:keel-sign> sign --elf ${KEEL_TEST_ELF_${arch}} --arch ${arch} ${_entry}
            --key ${KEEL_SIGN_KEY} --security-version 1 --hv-version ${PROJECT_VERSION}
            --out ${_d}/keel.img > /dev/null
    COMMAND python3 ${CMAKE_SOURCE_DIR}/tools/mkdisk --arch ${arch} --efi ${KEEL_BOOT_EFI_${arch}}
            --file ${_d}/keel.img --file ${_d}/keel.cfg --out ${_d}/disk.img)
endforeach()
add_custom_target(uefi-demo-disk ALL ${_demo_cmds}
  COMMENT "demo disks (arm64, x86_64): signed test image + keel.cfg (two VMs)")
add_dependencies(uefi-demo-disk uefi-disks-arm64 uefi-disks-x86_64)
