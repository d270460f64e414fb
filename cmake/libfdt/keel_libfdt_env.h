/* Keel's environment header for libfdt, force-included with -include.
 *
 * It takes the guard of dtc's own libfdt_env.h (LIBFDT_ENV_H), so that file,
 * which libfdt.h includes with quotes, becomes empty. The flattened device tree
 * is big-endian (Devicetree Specification v0.4, §5.1); both Keel targets are
 * little-endian, so every conversion is a byte swap with the compiler builtins.
 */
#ifndef LIBFDT_ENV_H
#define LIBFDT_ENV_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "keel_libfdt_env.h assumes a little-endian CPU"
#endif

typedef uint16_t fdt16_t;
typedef uint32_t fdt32_t;
typedef uint64_t fdt64_t;

static inline uint16_t fdt16_to_cpu(fdt16_t v) { return __builtin_bswap16(v); }
static inline fdt16_t cpu_to_fdt16(uint16_t v) { return __builtin_bswap16(v); }
static inline uint32_t fdt32_to_cpu(fdt32_t v) { return __builtin_bswap32(v); }
static inline fdt32_t cpu_to_fdt32(uint32_t v) { return __builtin_bswap32(v); }
static inline uint64_t fdt64_to_cpu(fdt64_t v) { return __builtin_bswap64(v); }
static inline fdt64_t cpu_to_fdt64(uint64_t v) { return __builtin_bswap64(v); }

#endif /* LIBFDT_ENV_H */
