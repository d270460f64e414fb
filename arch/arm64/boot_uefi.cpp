#include "boot_uefi.hpp"

#include <string.h>

namespace keel::arm64 {

bool take_uefi_boot_info(u64 x0, BootInfo& out) {
    if (x0 == 0 || (x0 & 7) != 0) return false;
    const auto* bi = reinterpret_cast<const BootInfo*>(x0);
    if (bi->magic != BootInfo::kMagic) return false; // a DTB starts d0 0d fe ed
    memcpy(&out, bi, sizeof(out));
    // The boot stage's entropy now lives only in the copy (the stage's page is never
    // handed to a VM, but a secret has no reason to stay twice).
    memset(const_cast<BootInfo*>(bi)->entropy, 0, sizeof bi->entropy);
    // Only the boot stage passes a BootInfo; never let it claim another source.
    out.source = BootSource::Uefi;
    if (out.mem_count > BootInfo::kMaxMem) out.mem_count = 0; // keel_main refuses it via valid()
    return true;
}

} // namespace keel::arm64
