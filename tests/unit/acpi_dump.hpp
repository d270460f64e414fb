// The ACPI dumps in tests/data/acpi/ (tools/acpi-dump: raw memory from kBase, the RSDP
// first) as the readers see them, and test-side helpers to find and corrupt tables.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <list>
#include <string>
#include <vector>

#include "hypervisor/acpi/platform_acpi.hpp"

using namespace keel;
using Bytes = std::vector<u8>;

namespace acpi_dump {

constexpr u64 kBase = 0x80000000;

inline Bytes load(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    EXPECT_TRUE(f.good()) << path;
    return Bytes(std::istreambuf_iterator<char>(f), {});
}
inline Bytes tables(const char* name) {
    return load(std::string(KEEL_TEST_DATA_DIR "/acpi/") + name);
}

// Physical memory = the dump at kBase; every map hands out a fresh copy of exactly the
// requested size.
struct Phys {
    Bytes image;
    std::list<Bytes> maps;
    static const u8* map(void* ctx, u64 pa, u64 size) {
        auto* self = static_cast<Phys*>(ctx);
        if (pa < kBase || pa - kBase > self->image.size() ||
            size > self->image.size() - (pa - kBase))
            return nullptr;
        self->maps.emplace_back(self->image.begin() + static_cast<long>(pa - kBase),
                                self->image.begin() + static_cast<long>(pa - kBase + size));
        return self->maps.back().data();
    }
    acpi::PhysReader reader() { return acpi::PhysReader{&Phys::map, this}; }
};

inline Status read(const Bytes& image, acpi::Flavor flavor, Platform& p,
                   const char** where = nullptr) {
    Phys phys{image, {}};
    return acpi::read_platform(kBase, phys.reader(), flavor, p, where);
}

inline u32 get32(const Bytes& b, usize off) {
    u32 v = 0;
    for (usize i = 0; i < 4; ++i)
        v |= static_cast<u32>(b[off + i]) << (8 * i);
    return v;
}
inline u64 get64(const Bytes& b, usize off) {
    return get32(b, off) | (u64{get32(b, off + 4)} << 32);
}
inline void put32(Bytes& b, usize off, u32 v) {
    for (usize i = 0; i < 4; ++i)
        b[off + i] = static_cast<u8>(v >> (8 * i));
}
inline void fix_checksum(Bytes& b, usize start, usize len, usize at) {
    b[at] = 0;
    u8 sum = 0;
    for (usize i = 0; i < len; ++i)
        sum = static_cast<u8>(sum + b[start + i]);
    b[at] = static_cast<u8>(-sum);
}

// Where each table of the dump lies (image offsets), found by walking the XSDT/RSDT
// the dump's RSDP names. Test-side, only to aim the corruptions.
struct Located {
    std::string sig;
    usize off;
    usize len;
};
inline std::vector<Located> locate(const Bytes& img) {
    const bool xsdt = img[15] >= 2 && get64(img, 24) != 0;
    const usize root = static_cast<usize>((xsdt ? get64(img, 24) : get32(img, 16)) - kBase);
    const usize root_len = get32(img, root + 4), step = xsdt ? 8 : 4;
    std::vector<Located> out{
        {std::string(reinterpret_cast<const char*>(&img[root]), 4), root, root_len}};
    for (usize e = root + 36; e < root + root_len; e += step) {
        const usize off = static_cast<usize>((xsdt ? get64(img, e) : get32(img, e)) - kBase);
        out.push_back(
            {std::string(reinterpret_cast<const char*>(&img[off]), 4), off, get32(img, off + 4)});
    }
    return out;
}
inline Located find(const Bytes& img, const char* sig) {
    for (const Located& t : locate(img))
        if (t.sig == sig) return t;
    ADD_FAILURE() << "no " << sig;
    return {};
}

} // namespace acpi_dump
using namespace acpi_dump;
