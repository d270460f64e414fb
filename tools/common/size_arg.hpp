// Command-line numbers for the host tools: decimal or 0x hex, with an optional K, M or G
// (binary) suffix. Header-only.
#pragma once

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "hypervisor/types.hpp"

namespace keel::tools {

inline bool parse_size(const std::string& s, u64& out) {
    struct Suffix {
        char c;
        u64 mul;
    };
    static constexpr Suffix kSuffixes[] = {{'\0', 1}, {'K', KiB}, {'M', MiB}, {'G', GiB}};
    errno = 0;
    char* end = nullptr;
    const unsigned long long v = strtoull(s.c_str(), &end, 0);
    if (s.empty() || s[0] == '-' || errno != 0 || end == s.c_str()) return false;
    const char c = static_cast<char>(toupper(static_cast<unsigned char>(*end)));
    for (const Suffix& x : kSuffixes) {
        if (c != x.c || (c != '\0' && end[1] != '\0')) continue;
        if (v > ~0ull / x.mul) return false;
        out = v * x.mul;
        return true;
    }
    return false;
}

} // namespace keel::tools
