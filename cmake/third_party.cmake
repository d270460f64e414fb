# Third-party libraries compiled from the Debian sources that tools/setup.sh unpacked in
# ${KEEL_DEPS_DIR} (versions pinned in tools/deps.lock; see ../shared/DEPENDENCIES.md).
#
#   tp_mbedcrypto  mbedTLS crypto subset (config: crypto/config/keel_mbedtls_config.h)
#   tp_fdt         libfdt, without overlays (no strtoul needed)
#   tp_zydis       Zydis decoder only; x86_64 images and the host, never arm64 images
#
# Image builds (KEEL_TARGET_ARCH set) take their C flags from the toolchain file and find
# string.h/stdlib.h/assert.h in hypervisor/libc/include; the host build uses the system
# libc. Third-party code is compiled with -w: its warnings are not ours to fix, and our
# own code keeps -Werror. KEEL_TP_REPORT lists "target|source-package version|file,file,..."
# for the code-size report.
get_filename_component(_tp_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(KEEL_TP_REPORT "")

# Attaches the flags every third-party library shares.
function(keel_tp_common target)
  set_target_properties(${target} PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
  target_compile_options(${target} PRIVATE -w)
  if(NOT KEEL_TARGET_ARCH)
    # Optimized even in Debug host builds: the tests exercise Keel's code, not the library's,
    # and -O0 bignum arithmetic made the image tests' exhaustive signature sweeps take minutes.
    target_compile_options(${target} PRIVATE -O2)
  endif()
  if(KEEL_TARGET_ARCH)
    # PUBLIC: the libraries' headers (and the force-included libfdt env header) include
    # <string.h>/<stdlib.h>, which an image finds only here.
    target_include_directories(${target} SYSTEM PUBLIC ${_tp_root}/hypervisor/libc/include)
  endif()
endfunction()

# --- mbedTLS --------------------------------------------------------------------------
set(_mbed ${KEEL_DEPS_DIR}/mbedtls)
set(_mbed_files
  aes asn1parse asn1write bignum bignum_core block_cipher constant_time ecdsa ecp
  ecp_curves gcm hkdf md platform platform_util sha256 sha512)
list(TRANSFORM _mbed_files PREPEND ${_mbed}/library/)
list(TRANSFORM _mbed_files APPEND .c)
add_library(tp_mbedcrypto STATIC ${_mbed_files})
keel_tp_common(tp_mbedcrypto)
target_include_directories(tp_mbedcrypto SYSTEM PUBLIC ${_mbed}/include ${_tp_root}/crypto/config)
target_include_directories(tp_mbedcrypto PRIVATE ${_mbed}/library)
target_compile_definitions(tp_mbedcrypto PUBLIC MBEDTLS_CONFIG_FILE="keel_mbedtls_config.h")
string(JOIN "," _r ${_mbed_files})
list(APPEND KEEL_TP_REPORT "tp_mbedcrypto|mbedtls 3.6.6-0.1~deb13u1|${_r}")

# --- libfdt ---------------------------------------------------------------------------
set(_fdt ${KEEL_DEPS_DIR}/dtc/libfdt)
set(_fdt_files fdt fdt_ro fdt_rw fdt_sw fdt_wip fdt_addresses fdt_empty_tree fdt_strerror fdt_check)
list(TRANSFORM _fdt_files PREPEND ${_fdt}/)
list(TRANSFORM _fdt_files APPEND .c)
add_library(tp_fdt STATIC ${_fdt_files})
keel_tp_common(tp_fdt)
set(_fdt_env ${_tp_root}/cmake/libfdt/keel_libfdt_env.h)
# libfdt.h includes libfdt_env.h, so users get the env header first as well (C and C++
# only: assembly sources must not see it). Joined form, so option de-duplication is safe.
target_compile_options(tp_fdt PUBLIC $<$<COMPILE_LANGUAGE:C,CXX>:-include${_fdt_env}>)
target_include_directories(tp_fdt SYSTEM PUBLIC ${_fdt})
string(JOIN "," _r ${_fdt_files})
list(APPEND KEEL_TP_REPORT "tp_fdt|device-tree-compiler 1.7.2-2|${_r}")

# --- Zydis (decoder only) -------------------------------------------------------------
if(NOT KEEL_TARGET_ARCH OR KEEL_TARGET_ARCH STREQUAL "x86_64")
  set(_zydis ${KEEL_DEPS_DIR}/zydis)
  set(_zydis_files Decoder DecoderData MetaInfo Mnemonic Register SharedData Utils Zydis)
  list(TRANSFORM _zydis_files PREPEND ${_zydis}/src/)
  list(TRANSFORM _zydis_files APPEND .c)
  add_library(tp_zydis STATIC ${_zydis_files})
  keel_tp_common(tp_zydis)
  target_include_directories(tp_zydis SYSTEM PUBLIC
    ${_zydis}/include ${KEEL_DEPS_DIR}/zycore/include)
  target_include_directories(tp_zydis PRIVATE ${_zydis}/src)
  target_compile_definitions(tp_zydis PUBLIC ZYAN_NO_LIBC ZYDIS_STATIC_BUILD ZYCORE_STATIC_BUILD
    ZYDIS_DISABLE_FORMATTER ZYDIS_DISABLE_ENCODER)
  string(JOIN "," _r ${_zydis_files})
  list(APPEND KEEL_TP_REPORT "tp_zydis|zydis 4.1.1-1 + zycore-c 1.5.2-1 (headers)|${_r}")
endif()

unset(_r)
