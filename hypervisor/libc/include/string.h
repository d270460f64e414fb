/* Keel's freestanding <string.h>: declarations of hypervisor/libc/string.cpp. */
#ifndef KEEL_LIBC_STRING_H
#define KEEL_LIBC_STRING_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
void* memcpy(void* dst, const void* src, size_t n);
void* memmove(void* dst, const void* src, size_t n);
void* memset(void* dst, int c, size_t n);
int memcmp(const void* a, const void* b, size_t n);
void* memchr(const void* p, int c, size_t n);
size_t strlen(const char* s);
size_t strnlen(const char* s, size_t max);
int strcmp(const char* a, const char* b);
int strncmp(const char* a, const char* b, size_t n);
char* strchr(const char* s, int c);
char* strrchr(const char* s, int c);
#ifdef __cplusplus
}
#endif
/* Images build -ffreestanding, which keeps every memcpy and memset an out-of-line call: a
   4-byte unaligned load in mbedTLS's SHA-256 was a call and a byte loop. Through the
   builtins a copy of a known small size is a move or two (general registers only: the
   images build without SSE, and with -mstrict-align on arm64), anything else still calls
   string.cpp. */
#define memcpy(d, s, n) __builtin_memcpy((d), (s), (n))
#define memset(d, c, n) __builtin_memset((d), (c), (n))
#endif
