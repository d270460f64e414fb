// What the guest ACPI tests share (x86_guest_acpi_test.cpp, x86_guest_acpi_pci_test.cpp): the
// tables built into a buffer at guest-physical kGpa, little-endian reads, checksums, and the
// XSDT's lookup by signature.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "arch/x86_64/guest_acpi.hpp"

namespace keel::x86::acpi_test {

inline constexpr u64 kGpa = 0xe0000; // where the tables are built

inline u32 g32(const u8* p) {
    return u32(p[0]) | (u32(p[1]) << 8) | (u32(p[2]) << 16) | (u32(p[3]) << 24);
}
inline u64 g64(const u8* p) { return g32(p) | (u64(g32(p + 4)) << 32); }
inline u8 sum(const u8* p, usize n) {
    u8 s = 0;
    for (usize i = 0; i < n; ++i)
        s = static_cast<u8>(s + p[i]);
    return s;
}

struct Built {
    std::vector<u8> mem = std::vector<u8>(0x10000, 0);
    usize used = 0;
    const u8* at(u64 gpa) const { return mem.data() + (gpa - kGpa); }
    static const u8* map(void* ctx, u64 pa, u64 size) {
        auto* b = static_cast<Built*>(ctx);
        if (pa < kGpa || pa - kGpa > b->mem.size() || size > b->mem.size() - (pa - kGpa))
            return nullptr;
        return b->mem.data() + (pa - kGpa);
    }
};

inline Built build(u32 cpus, const u32* ids, u16 pm_timer = 0) {
    Built b;
    GuestAcpiConfig c{cpus, ids, 0xfec00000, 0, 0x600, 0x601, 0x602, 1, pm_timer};
    b.used = build_guest_acpi(b.mem.data(), b.mem.size(), kGpa, c);
    return b;
}

// The table with signature `sig` the XSDT lists.
inline const u8* table(const Built& b, const char* sig) {
    const u8* x = b.at(g64(b.at(kGpa) + 24));
    for (u32 off = 36; off < g32(x + 4); off += 8) {
        const u8* t = b.at(g64(x + off));
        if (memcmp(t, sig, 4) == 0) return t;
    }
    return nullptr;
}

// EisaId ("PNP0501") as AML stores it (ACPI 6.5 19.3.4 EISAID: three 5-bit letters, 'A' = 1,
// then four hex digits, the 32-bit value in big-endian byte order).
inline u32 eisa_id(const char* s) {
    const u32 mfg = (u32(s[0] - 0x40) << 10) | (u32(s[1] - 0x40) << 5) | u32(s[2] - 0x40);
    const u32 prod = u32(std::stoul(std::string(s + 3, 4), nullptr, 16));
    const u8 be[4] = {u8(mfg >> 8), u8(mfg), u8(prod >> 8), u8(prod)};
    return g32(be);
}

} // namespace keel::x86::acpi_test
