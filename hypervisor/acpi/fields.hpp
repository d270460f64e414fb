// Little-endian field reads and signature compares for firmware tables. ACPI tables are
// byte-packed and unaligned (ACPI 6.5 5.2), so every multi-byte field is read bytewise.
#pragma once

#include "hypervisor/bytes.hpp"

namespace keel::acpi {

using keel::le16;
using keel::le32;
using keel::le64;

inline bool sig_is(const u8* p, const char* sig, usize n) {
    for (usize i = 0; i < n; ++i)
        if (p[i] != static_cast<u8>(sig[i])) return false;
    return true;
}

// ACPI checksum: all bytes of the structure sum to zero modulo 256.
inline bool checksum_ok(const u8* p, usize n) {
    u8 sum = 0;
    for (usize i = 0; i < n; ++i)
        sum = static_cast<u8>(sum + p[i]);
    return sum == 0;
}

} // namespace keel::acpi
