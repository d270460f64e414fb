#include "hypervisor/mailbox/shared.hpp"

#include <string.h>

namespace keel::mailbox {

Status SharedRegion::copy_in(u64 offset, void* dst, u64 len) const {
    if (!contains(offset, len)) return Status::OutOfRange;
    if ((offset | len) & 3) return Status::InvalidArgument;
    auto* out = static_cast<u8*>(dst);
    for (u64 i = 0; i < len; i += 4) {
        u32 w = *reinterpret_cast<volatile const u32*>(base_ + offset + i);
        memcpy(out + i, &w, 4);
    }
    return Status::Ok;
}

Status SharedRegion::copy_out(u64 offset, const void* src, u64 len) {
    if (!contains(offset, len)) return Status::OutOfRange;
    if ((offset | len) & 3) return Status::InvalidArgument;
    const auto* in = static_cast<const u8*>(src);
    for (u64 i = 0; i < len; i += 4) {
        u32 w;
        memcpy(&w, in + i, 4);
        *reinterpret_cast<volatile u32*>(base_ + offset + i) = w;
    }
    return Status::Ok;
}

u32 SharedRegion::read32(u64 offset) const {
    if (!contains(offset, 4) || (offset & 3)) return 0;
    return *reinterpret_cast<volatile const u32*>(base_ + offset);
}

void SharedRegion::write32(u64 offset, u32 value) {
    if (!contains(offset, 4) || (offset & 3)) return;
    *reinterpret_cast<volatile u32*>(base_ + offset) = value;
}

} // namespace keel::mailbox
