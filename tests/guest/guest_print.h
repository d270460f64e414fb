// Console formatting shared by the in-tree test guests (arm64 and x86_64): strings, hex
// and decimal numbers over the putc_() the including guest defines first.
#pragma once

#include <stdint.h>

static inline void puts_(const char* s) {
    while (*s)
        putc_(*s++);
}
static inline void puthex(uint64_t v) {
    puts_("0x");
    int started = 0;
    for (int i = 60; i >= 0; i -= 4) {
        unsigned d = (unsigned)(v >> i) & 0xf;
        if (d || started || i == 0) {
            putc_((char)(d < 10 ? '0' + d : 'a' + d - 10));
            started = 1;
        }
    }
}
static inline void putdec(uint64_t v) {
    char buf[21];
    int n = 0;
    do
        buf[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n)
        putc_(buf[--n]);
}
