// Reads the load segments of a 64-bit little-endian ELF executable (System V gABI)
// for keel-sign: PT_LOAD program headers at their physical addresses, page aligned
// (segments that share a page are merged), and the entry point (e_entry or a symbol).
#pragma once

#include <string>
#include <vector>

#include "hypervisor/types.hpp"

namespace keel::sign {

struct ElfSegment {
    u64 load_addr = 0; // page aligned
    u64 mem_size = 0;  // >= bytes.size()
    std::vector<u8> bytes;
};

struct ElfImage {
    u64 entry = 0;
    std::vector<ElfSegment> segments;
};

bool load_elf(const std::vector<u8>& file, const std::string& entry_symbol, ElfImage& out,
              std::string& err);

} // namespace keel::sign
