#include "hypervisor/print.hpp"

#include <arch/console.hpp>

namespace keel {
namespace {

struct Sink {
    char* buf;
    usize size;
    usize len = 0;
    void put(char c) {
        if (len + 1 < size) buf[len] = c;
        ++len;
    }
    // The literal text from `p` up to the next '%' or the end; returns where it stopped.
    // One loop with the room checked once (most of a boot line is literal text).
    const char* put_literal(const char* p) {
        // Locals: a char store may alias the members, which would be reloaded each time.
        char* const at = buf + len;
        const usize room = len + 1 < size ? size - 1 - len : 0;
        usize n = 0;
        for (char c = p[0]; c != '\0' && c != '%'; c = p[++n])
            if (n < room) at[n] = c;
        len += n;
        return p + n;
    }
};

void put_number(Sink& out, u64 value, unsigned base, bool upper, bool negative, int width,
                bool zero_pad, bool left) {
    char digits[24];
    int n = 0;
    const char* set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    do {
        digits[n++] = set[value % base];
        value /= base;
    } while (value != 0);
    int total = n + (negative ? 1 : 0);
    if (!left && !zero_pad)
        for (int i = total; i < width; ++i)
            out.put(' ');
    if (negative) out.put('-');
    if (!left && zero_pad)
        for (int i = total; i < width; ++i)
            out.put('0');
    while (n > 0)
        out.put(digits[--n]);
    if (left)
        for (int i = total; i < width; ++i)
            out.put(' ');
}

} // namespace

usize vformat(char* buf, usize size, const char* fmt, va_list ap) {
    Sink out{buf, size};
    for (const char* p = fmt; *p; ++p) {
        if (*p != '%') {
            p = out.put_literal(p) - 1;
            continue;
        }
        ++p;
        bool zero_pad = false, left = false, alt = false;
        for (;; ++p) {
            if (*p == '0')
                zero_pad = true;
            else if (*p == '-')
                left = true;
            else if (*p == '#')
                alt = true;
            else
                break;
        }
        int width = 0;
        while (*p >= '0' && *p <= '9')
            width = width * 10 + (*p++ - '0');
        int longs = 0;
        bool size_t_arg = false;
        while (*p == 'l')
            ++longs, ++p;
        if (*p == 'z') size_t_arg = true, ++p;
        auto fetch_unsigned = [&]() -> u64 {
            if (size_t_arg) return va_arg(ap, usize);
            if (longs >= 2) return va_arg(ap, unsigned long long);
            if (longs == 1) return va_arg(ap, unsigned long);
            return va_arg(ap, unsigned int);
        };
        switch (*p) {
        case 'd':
        case 'i': {
            i64 v;
            if (size_t_arg)
                v = static_cast<i64>(va_arg(ap, usize));
            else if (longs >= 2)
                v = va_arg(ap, long long);
            else if (longs == 1)
                v = va_arg(ap, long);
            else
                v = va_arg(ap, int);
            u64 mag = v < 0 ? 0 - static_cast<u64>(v) : static_cast<u64>(v);
            put_number(out, mag, 10, false, v < 0, width, zero_pad, left);
            break;
        }
        case 'u': put_number(out, fetch_unsigned(), 10, false, false, width, zero_pad, left); break;
        case 'x':
        case 'X':
            if (alt) { // the prefix counts towards the width, as in C
                out.put('0');
                out.put('x');
                width = width > 2 ? width - 2 : 0;
            }
            put_number(out, fetch_unsigned(), 16, *p == 'X', false, width, zero_pad, left);
            break;
        case 'p':
            out.put('0');
            out.put('x');
            put_number(out, reinterpret_cast<uptr>(va_arg(ap, void*)), 16, false, false, 16, true,
                       false);
            break;
        case 'c': out.put(static_cast<char>(va_arg(ap, int))); break;
        case 's': {
            const char* s = va_arg(ap, const char*);
            if (!s) s = "(null)";
            usize n = 0;
            while (s[n])
                ++n;
            if (!left)
                for (usize i = n; i < static_cast<usize>(width); ++i)
                    out.put(' ');
            for (usize i = 0; i < n; ++i)
                out.put(s[i]);
            if (left)
                for (usize i = n; i < static_cast<usize>(width); ++i)
                    out.put(' ');
            break;
        }
        case '%': out.put('%'); break;
        case '\0': --p; break; // lone '%' at the end: stop
        default:
            out.put('%');
            out.put(*p);
            break;
        }
    }
    if (size > 0) buf[out.len < size ? out.len : size - 1] = '\0';
    return out.len;
}

usize format(char* buf, usize size, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    usize n = vformat(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

void kprint(const char* fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    usize n = vformat(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n >= sizeof line) n = sizeof line - 1;
    arch::console_write(line, n);
}

void kprint_hex(const u8* data, usize len) {
    char chunk[65];
    static constexpr char hex[] = "0123456789abcdef";
    while (len > 0) {
        usize n = len > 32 ? 32 : len;
        for (usize i = 0; i < n; ++i) {
            chunk[2 * i] = hex[data[i] >> 4];
            chunk[2 * i + 1] = hex[data[i] & 15];
        }
        arch::console_write(chunk, 2 * n);
        data += n;
        len -= n;
    }
}

} // namespace keel
