#include "tools/keel-sign/elf.hpp"

#include <elf.h>

#include <algorithm>
#include <cstring>

namespace keel::sign {
namespace {

constexpr u64 kPage = 4096;

template <typename T>
bool read_at(const std::vector<u8>& f, u64 off, T& out) {
    if (off > f.size() || f.size() - off < sizeof(T)) return false;
    memcpy(&out, f.data() + off, sizeof(T));
    return true;
}

bool find_symbol(const std::vector<u8>& f, const Elf64_Ehdr& eh, const std::string& name,
                 u64& value) {
    for (u32 i = 0; i < eh.e_shnum; ++i) {
        Elf64_Shdr sh, strtab;
        if (!read_at(f, eh.e_shoff + u64(i) * eh.e_shentsize, sh) || sh.sh_type != SHT_SYMTAB)
            continue;
        if (!read_at(f, eh.e_shoff + u64(sh.sh_link) * eh.e_shentsize, strtab)) return false;
        for (u64 off = 0; off + sizeof(Elf64_Sym) <= sh.sh_size; off += sizeof(Elf64_Sym)) {
            Elf64_Sym sym;
            if (!read_at(f, sh.sh_offset + off, sym)) return false;
            u64 at = strtab.sh_offset + sym.st_name;
            if (sym.st_name >= strtab.sh_size || at + name.size() >= f.size()) continue;
            if (memcmp(f.data() + at, name.c_str(), name.size() + 1) == 0) {
                value = sym.st_value;
                return true;
            }
        }
    }
    return false;
}

} // namespace

bool load_elf(const std::vector<u8>& f, const std::string& entry_symbol, ElfImage& out,
              std::string& err) {
    Elf64_Ehdr eh;
    if (!read_at(f, 0, eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
        (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)) { // ET_DYN: a static PIE (arm64)
        err = "not a 64-bit little-endian ELF executable";
        return false;
    }
    if (eh.e_phentsize != sizeof(Elf64_Phdr) ||
        (eh.e_shnum && eh.e_shentsize != sizeof(Elf64_Shdr))) {
        err = "unexpected ELF header sizes";
        return false;
    }
    std::vector<ElfSegment> segs;
    for (u32 i = 0; i < eh.e_phnum; ++i) {
        Elf64_Phdr ph;
        if (!read_at(f, eh.e_phoff + u64(i) * sizeof(ph), ph)) {
            err = "truncated program headers";
            return false;
        }
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
        if (ph.p_filesz > ph.p_memsz || ph.p_offset > f.size() ||
            f.size() - ph.p_offset < ph.p_filesz) {
            err = "malformed PT_LOAD";
            return false;
        }
        ElfSegment s;
        const u64 pad = ph.p_paddr % kPage;
        s.load_addr = ph.p_paddr - pad;
        s.mem_size = pad + ph.p_memsz;
        s.bytes.assign(pad, 0);
        s.bytes.insert(s.bytes.end(), f.begin() + long(ph.p_offset),
                       f.begin() + long(ph.p_offset + ph.p_filesz));
        segs.push_back(std::move(s));
    }
    std::sort(segs.begin(), segs.end(),
              [](const ElfSegment& a, const ElfSegment& b) { return a.load_addr < b.load_addr; });
    for (ElfSegment& s : segs) {
        if (!out.segments.empty()) {
            ElfSegment& p = out.segments.back();
            const u64 p_end = (p.load_addr + p.mem_size + kPage - 1) / kPage * kPage;
            if (s.load_addr < p_end) { // shares a page: merge (gap and previous .bss become zeros)
                const u64 off = s.load_addr - p.load_addr;
                if (p.bytes.size() > off) {
                    err = "overlapping PT_LOAD segments";
                    return false;
                }
                p.bytes.resize(off, 0);
                p.bytes.insert(p.bytes.end(), s.bytes.begin(), s.bytes.end());
                p.mem_size = std::max(p.mem_size, off + s.mem_size);
                continue;
            }
        }
        out.segments.push_back(std::move(s));
    }
    // A segment with no file bytes (pure .bss) keeps one zero byte: every segment is hashed.
    for (ElfSegment& s : out.segments)
        if (s.bytes.empty()) s.bytes.push_back(0);
    if (out.segments.empty()) {
        err = "no PT_LOAD segments";
        return false;
    }
    out.entry = eh.e_entry;
    if (!entry_symbol.empty() && !find_symbol(f, eh, entry_symbol, out.entry)) {
        err = "entry symbol " + entry_symbol + " not found";
        return false;
    }
    return true;
}

} // namespace keel::sign
