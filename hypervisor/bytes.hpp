// Small byte-string helpers shared by the boot stage and the hypervisor.
#pragma once

#include "hypervisor/types.hpp"

namespace keel {

// True if every byte is zero. Reads all n bytes whatever they hold (no early exit), so
// checking reserved fields takes the same time for any content.
inline bool all_zero(const u8* p, usize n) {
    u8 acc = 0;
    for (usize i = 0; i < n; ++i)
        acc |= p[i];
    return acc == 0;
}

// Little-endian fields read and written bytewise: firmware tables, boot headers and
// descriptors are byte-packed and unaligned.
inline u16 le16(const u8* p) { return static_cast<u16>(p[0] | (p[1] << 8)); }
inline u32 le32(const u8* p) {
    return static_cast<u32>(le16(p)) | (static_cast<u32>(le16(p + 2)) << 16);
}
inline u64 le64(const u8* p) {
    return static_cast<u64>(le32(p)) | (static_cast<u64>(le32(p + 4)) << 32);
}
// Writes the low `n` bytes of v, least significant first.
inline void put_le(u8* p, u64 v, usize n) {
    for (usize i = 0; i < n; ++i)
        p[i] = static_cast<u8>(v >> (8 * i));
}

} // namespace keel
