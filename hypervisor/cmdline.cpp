#include "hypervisor/cmdline.hpp"

namespace keel {
namespace {
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n'; }
} // namespace

// Returns a pointer just past "key" inside the text (at '=' or the word's end), or null.
const char* Cmdline::find(const char* key, usize* value_len) const {
    usize klen = 0;
    while (key[klen])
        ++klen;
    const char* p = text_;
    while (*p) {
        while (is_space(*p))
            ++p;
        const char* word = p;
        while (*p && !is_space(*p))
            ++p;
        usize wlen = static_cast<usize>(p - word);
        if (wlen >= klen) {
            bool match = true;
            for (usize i = 0; i < klen; ++i)
                if (word[i] != key[i]) match = false;
            if (match && (wlen == klen || word[klen] == '=')) {
                *value_len = wlen == klen ? 0 : wlen - klen - 1;
                return word + klen;
            }
        }
    }
    return nullptr;
}

bool Cmdline::has(const char* key) const {
    usize len;
    return find(key, &len) != nullptr;
}

bool Cmdline::value(const char* key, char* out, usize out_size) const {
    usize len;
    const char* at = find(key, &len);
    if (!at || *at != '=' || len + 1 > out_size) return false;
    for (usize i = 0; i < len; ++i)
        out[i] = at[1 + i];
    out[len] = '\0';
    return true;
}

bool Cmdline::number(const char* key, u64 min, u64 max, u64* out) const {
    usize len;
    const char* at = find(key, &len);
    if (!at || *at != '=' || len == 0 || len > 15) return false;
    u64 n = 0; // 15 digits never overflow
    for (usize i = 0; i < len; ++i) {
        const char c = at[1 + i];
        if (c < '0' || c > '9') return false;
        n = n * 10 + static_cast<u64>(c - '0');
    }
    if (n < min || n > max) return false;
    *out = n;
    return true;
}

bool Cmdline::value_is(const char* key, const char* expected) const {
    usize len;
    const char* at = find(key, &len);
    if (!at || *at != '=') return false;
    usize i = 0;
    for (; i < len; ++i)
        if (expected[i] != at[1 + i]) return false;
    return expected[i] == '\0';
}

bool parse_hex(const char* s, usize len, u64* out) {
    if (len < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || len > 18) return false;
    u64 v = 0;
    for (usize i = 2; i < len; ++i) {
        char c = s[i];
        u64 d = c >= '0' && c <= '9'   ? u64(c - '0')
                : c >= 'a' && c <= 'f' ? u64(c - 'a' + 10)
                : c >= 'A' && c <= 'F' ? u64(c - 'A' + 10)
                                       : 16;
        if (d == 16) return false;
        v = v << 4 | d;
    }
    *out = v;
    return true;
}

} // namespace keel
