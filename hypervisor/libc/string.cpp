// The few C library functions the freestanding images need: the compiler emits
// calls to mem* for struct copies, and mbedTLS/libfdt/Zydis call them directly.
// Built only into the images; host builds use the system's C library.
#include <stddef.h>
#include <stdint.h>

extern "C" {

// Eight bytes per load/store when both pointers are 8-byte aligned (the common case:
// guest images, tables, staging buffers), bytes otherwise: general registers only, no
// unaligned access (arm64 images build with -mstrict-align).
static bool aligned8(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 7) == 0; }

void* memcpy(void* dst, const void* src, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    const auto* s = static_cast<const unsigned char*>(src);
    if (aligned8(d) && aligned8(s)) {
        auto* dw = reinterpret_cast<uint64_t*>(d);
        const auto* sw = reinterpret_cast<const uint64_t*>(s);
        for (; n >= 32; n -= 32, dw += 4, sw += 4) {
            const uint64_t a = sw[0], b = sw[1], c = sw[2], e = sw[3];
            dw[0] = a, dw[1] = b, dw[2] = c, dw[3] = e;
        }
        for (; n >= 8; n -= 8)
            *dw++ = *sw++;
        d = reinterpret_cast<unsigned char*>(dw);
        s = reinterpret_cast<const unsigned char*>(sw);
    }
    while (n--)
        *d++ = *s++;
    return dst;
}

void* memmove(void* dst, const void* src, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    const auto* s = static_cast<const unsigned char*>(src);
    if (d == s || n == 0) return dst;
    if (d < s) {
        while (n--)
            *d++ = *s++;
    } else {
        d += n;
        s += n;
        while (n--)
            *--d = *--s;
    }
    return dst;
}

void* memset(void* dst, int c, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    while (n != 0 && !aligned8(d)) {
        *d++ = static_cast<unsigned char>(c);
        --n;
    }
    const uint64_t w = 0x0101010101010101ull * static_cast<unsigned char>(c);
    auto* dw = reinterpret_cast<uint64_t*>(d);
    for (; n >= 32; n -= 32, dw += 4)
        dw[0] = w, dw[1] = w, dw[2] = w, dw[3] = w;
    for (; n >= 8; n -= 8)
        *dw++ = w;
    d = reinterpret_cast<unsigned char*>(dw);
    while (n--)
        *d++ = static_cast<unsigned char>(c);
    return dst;
}

int memcmp(const void* a, const void* b, size_t n) {
    const auto* x = static_cast<const unsigned char*>(a);
    const auto* y = static_cast<const unsigned char*>(b);
    for (; n; --n, ++x, ++y)
        if (*x != *y) return *x < *y ? -1 : 1;
    return 0;
}

void* memchr(const void* p, int c, size_t n) {
    const auto* s = static_cast<const unsigned char*>(p);
    for (; n; --n, ++s)
        if (*s == static_cast<unsigned char>(c)) return const_cast<unsigned char*>(s);
    return nullptr;
}

size_t strlen(const char* s) {
    size_t n = 0;
    while (s[n])
        ++n;
    return n;
}

size_t strnlen(const char* s, size_t max) {
    size_t n = 0;
    while (n < max && s[n])
        ++n;
    return n;
}

int strcmp(const char* a, const char* b) {
    while (*a && *a == *b)
        ++a, ++b;
    return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
}

int strncmp(const char* a, const char* b, size_t n) {
    for (; n; --n, ++a, ++b) {
        if (*a != *b) return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
        if (!*a) return 0;
    }
    return 0;
}

char* strchr(const char* s, int c) {
    for (;; ++s) {
        if (*s == static_cast<char>(c)) return const_cast<char*>(s);
        if (!*s) return nullptr;
    }
}

char* strrchr(const char* s, int c) {
    const char* last = nullptr;
    for (;; ++s) {
        if (*s == static_cast<char>(c)) last = s;
        if (!*s) return const_cast<char*>(last);
    }
}

} // extern "C"
