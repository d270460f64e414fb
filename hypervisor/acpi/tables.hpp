// ACPI table directory (ACPI 6.5 5.2.5-5.2.8): RSDP -> XSDT (or RSDT) -> the tables it
// lists. Pure logic over a "map this physical range" callback, so the same code runs in
// the x86 and arm64 images and in the host tests (tests/unit/acpi_*_test.cpp, on the
// tables QEMU generates, tests/data/acpi/). Firmware tables are input like any other:
// every length, offset and checksum is checked before a byte is used, and a malformed
// table gives a Status, never a read outside what the callback mapped.
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::acpi {

// Makes [pa, pa+size) readable and returns a pointer to its first byte, or nullptr
// when the range cannot be mapped. Called again with a larger size once a table's
// length is known.
struct PhysReader {
    const u8* (*map)(void* ctx, u64 pa, u64 size);
    void* ctx;
};

inline constexpr u64 kMaxTableSize = 1 * MiB; // sanity bound on any table length
inline constexpr u32 kSdtHeaderSize = 36;     // 5.2.6

// One table the root lists, its header and checksum already checked.
struct Table {
    char sig[4];
    u8 revision;
    u64 pa;
    u32 len;
};

struct TableSet {
    static constexpr u32 kMax = 32;
    Table tables[kMax];
    u32 count = 0;

    // The first table with this signature, or nullptr.
    [[nodiscard]] const Table* find(const char* sig) const;
};

// Scans a BIOS memory window for the RSDP ("RSD PTR " on a 16-byte boundary with a
// valid ACPI 1.0 checksum, 5.2.5.1). Returns its offset in the window.
Result<usize> find_rsdp(const u8* window, usize len);

// Reads the RSDP and its root table and checks every table the root lists (signature,
// length within kMaxTableSize, checksum; two tables may not overlap). A table listed
// twice under one signature keeps the first. More than kMax tables: OutOfRange.
Status open(u64 rsdp_pa, const PhysReader& reader, TableSet& out);

// Maps a table found by open() again (the callback may reuse its window).
Result<const u8*> map_table(const PhysReader& reader, const Table& t);

} // namespace keel::acpi
