// Hypervisor command line ("key=value key2 ..."), from the DTB /chosen/bootargs,
// the Multiboot command line, or the boot stage. Read-only views, no allocation.
#pragma once

#include "hypervisor/types.hpp"

namespace keel {

class Cmdline {
public:
    explicit Cmdline(const char* text) : text_(text ? text : "") {}
    // True if the word `key` or `key=...` is present.
    [[nodiscard]] bool has(const char* key) const;
    // Copies the value of `key=value` into out (NUL-terminated); false if absent or too long.
    bool value(const char* key, char* out, usize out_size) const;
    [[nodiscard]] bool value_is(const char* key, const char* expected) const;
    // The decimal value of `key=N` (1 to 15 digits, nothing else) into out when it lies in
    // [min, max]; false, out untouched, otherwise.
    bool number(const char* key, u64 min, u64 max, u64* out) const;

private:
    const char* find(const char* key, usize* value_len) const;
    const char* text_;
};

// "0x" then 1-16 hex digits in [s, s+len) (either case); false on anything else.
bool parse_hex(const char* s, usize len, u64* out);

} // namespace keel
