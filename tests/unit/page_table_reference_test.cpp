// The page-table engine against reference walkers written from the architecture manuals,
// not from the formats: every bit position below is taken from the cited tables and typed
// here by hand. The walkers read the tables the engine built, the way the hardware would,
// and report what an access finds (fault, misconfiguration, or output and permissions).
//
//   ARM ARM (DDI 0487) D8.3 "Translation table descriptor formats" (VMSAv8-64, 4 KiB
//     granule), D8.4/D8.5 (stage-1 AP/XN and hierarchical APTable/XNTable, stage-2 S2AP,
//     XN[1:0], MemAttr without FEAT_S2FWB), MAIR_EL2 attribute encodings.
//   Intel SDM Vol. 3C 29.3.2, Tables 29-1..29-6 (EPT entries), 29.3.3.1 (misconfigurations).
//   Intel SDM Vol. 3A 4.5, Tables 4-15..4-20 (4-level paging), 4.6 (access rights with
//     CR0.WP = 1, EFER.NXE = 1), 13.12.3 (PAT index, power-up PAT); AMD APM Vol. 2 15.25.5
//     (nested tables use the same entries; every guest access is checked as a user access).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "arch/arm64/el2_format.hpp"
#include "arch/arm64/stage2_format.hpp"
#include "arch/x86_64/ept_format.hpp"
#include "arch/x86_64/x86_paging_format.hpp"
#include "host_tables.hpp"
#include "hypervisor/mm/page_table.hpp"

using namespace keel;
using namespace keel::mm;
using keel::test::HostTables;

namespace {

constexpr u64 bit(unsigned n) { return 1ull << n; }
constexpr u64 bits(unsigned hi, unsigned lo) { return ((~0ull) >> (63 - hi)) & ~(bit(lo) - 1); }

// What one access through the tables finds.
struct Walk {
    enum Kind { Fault, Misconfig, Ok } kind = Fault;
    u64 pa = 0;
    int level = -1;
    Attrs attrs{false, false, false, false};
    std::string why;
};

Walk fail(Walk::Kind k, int level, const std::string& why) {
    Walk w;
    w.kind = k;
    w.level = level;
    w.why = why + " at level " + std::to_string(level);
    return w;
}

// Levels are counted the manuals' way for each format; the input bits a level indexes:
// ARM 4 KiB granule: level 0 IA[47:39], 1 IA[38:30], 2 IA[29:21], 3 IA[20:12]; the walk
// starts at level 1 for a 39-bit IA (TnSZ 25) and at level 0 for 48 bits (TnSZ 16).
// x86 / EPT: PML4 IA[47:39], PDPT IA[38:30], PD IA[29:21], PT IA[20:12].
unsigned index_at(u64 ia, int level) {
    return static_cast<unsigned>((ia >> (39 - 9 * level)) & 0x1ff);
}

// ---- ARM VMSAv8-64, 4 KiB granule, 48-bit output addresses -----------------------------
enum class ArmRegime { El2Stage1, Stage2 };

// MAIR_EL2 attribute byte: 0b0000ddxx Device (dd the type, xx must be 00), else Normal.
bool mair_attr_is_device(u64 mair, unsigned index, bool* valid) {
    const u64 attr = (mair >> (8 * index)) & 0xff;
    *valid = (attr & 0xf0) != 0 || (attr & 0x3) == 0;
    return (attr & 0xf0) == 0;
}

// ia_bits: 64 - TnSZ, 39 or 48 (D8.2: the initial lookup level follows from it).
Walk arm_walk(HostTables& mem, u64 root, u64 ia, ArmRegime regime, u64 mair, unsigned ia_bits) {
    const int start = ia_bits > 39 ? 0 : 1;
    if (ia >> ia_bits) return fail(Walk::Fault, start, "input address beyond the IA size");
    u64 table = root;
    bool table_ro = false, table_xn = false;
    for (int level = start; level <= 3; ++level) {
        if (!mem.is_live(table)) return fail(Walk::Misconfig, level, "table not a live page");
        const u64 d = reinterpret_cast<const u64*>(table)[index_at(ia, level)];
        if ((d & bit(0)) == 0) return fail(Walk::Fault, level, "invalid descriptor (bit 0)");
        const bool type_bit = (d & bit(1)) != 0;
        if (level == 0 && !type_bit) // no level-0 blocks with a 4 KiB granule (without LPA2)
            return fail(Walk::Fault, 0, "level-0 block descriptor");
        if (level < 3 && type_bit) { // table descriptor: next table at bits[47:12]
            if (regime == ArmRegime::El2Stage1) {
                // APTable[62:61] (62 = no writes below), XNTable bit 60; PXNTable bit 59 and
                // NSTable bit 63 are RES0 in a one-privilege regime, as are bits 58:51 here.
                if (d & bit(62)) table_ro = true;
                if (d & bit(60)) table_xn = true;
                if (d & (bit(59) | bit(63) | bit(61)))
                    return fail(Walk::Misconfig, level, "unexpected table attribute");
            } else if (d & bits(63, 59)) {
                return fail(Walk::Misconfig, level, "stage-2 table bits 63:59 are RES0");
            }
            if (d & bits(11, 2)) return fail(Walk::Misconfig, level, "table bits 11:2 set");
            table = d & bits(47, 12);
            continue;
        }
        if (level == 3 && !type_bit)
            return fail(Walk::Fault, 3, "level-3 descriptor 0b01 is reserved");
        // Block (level 1: OA[47:30], level 2: OA[47:21]) or page (OA[47:12]).
        const unsigned oa_lo = level == 1 ? 30 : level == 2 ? 21 : 12;
        if (d & bits(oa_lo - 1, 12) & bits(47, 12))
            return fail(Walk::Misconfig, level, "address bits below the block size set");
        if ((d & bit(10)) == 0) return fail(Walk::Fault, level, "access flag (bit 10) clear");
        if (d & (bit(52) | bit(51) | bit(50) | bit(11)))
            return fail(Walk::Misconfig, level, "contiguous/DBM/GP/nG set");
        Walk w;
        w.kind = Walk::Ok;
        w.level = level;
        w.pa = (d & bits(47, oa_lo)) | (ia & (bit(oa_lo) - 1));
        const unsigned sh = static_cast<unsigned>((d >> 8) & 3);
        if (regime == ArmRegime::El2Stage1) {
            bool valid = false;
            w.attrs.device = mair_attr_is_device(mair, static_cast<unsigned>((d >> 2) & 7), &valid);
            if (!valid) return fail(Walk::Misconfig, level, "MAIR attribute reserved");
            w.attrs.read = true;                            // AP[2:1] = 0b00/0b10: readable
            w.attrs.write = (d & bit(7)) == 0 && !table_ro; // AP[2] = 1: read-only
            w.attrs.exec = (d & bit(54)) == 0 && !table_xn; // XN
            if (d & bit(53)) return fail(Walk::Misconfig, level, "PXN is RES0 at EL2");
        } else {
            const u64 memattr = (d >> 2) & 0xf; // MemAttr[3:0], bits 5:2
            w.attrs.device = (memattr >> 2) == 0;
            if (!w.attrs.device && (memattr & 3) == 0)
                return fail(Walk::Misconfig, level, "Normal memory with inner attribute 0b00");
            w.attrs.read = (d & bit(6)) != 0;  // S2AP[0]
            w.attrs.write = (d & bit(7)) != 0; // S2AP[1]
            // XN[1:0], bits 54:53. With FEAT_XNX: 00 EL1+EL0 execute, 01 EL0 only, 10 none,
            // 11 EL1 only; without it bit 53 is RES0 and bit 54 alone is XN. Keel must mean
            // the same under both, so only 00 and 10 are accepted.
            const u64 xn = (d >> 53) & 3;
            if (xn == 1 || xn == 3) return fail(Walk::Misconfig, level, "XN differs with XNX");
            w.attrs.exec = xn == 0;
        }
        // Normal memory is expected inner shareable (SH 0b11); SH 0b01 is reserved.
        if (sh == 1) return fail(Walk::Misconfig, level, "SH 0b01 is reserved");
        if (!w.attrs.device && sh != 3) return fail(Walk::Misconfig, level, "normal not ISH");
        return w;
    }
    return fail(Walk::Misconfig, 3, "walk fell through");
}

// ---- Intel EPT (MAXPHYADDR taken as 48: bits 51:48 reserved) -----------------------------
Walk ept_walk(HostTables& mem, u64 root, u64 ia) {
    if (ia >> 48) return fail(Walk::Fault, 0, "guest-physical beyond 48 bits");
    u64 table = root;
    bool r = true, w = true, x = true;
    for (int level = 0; level <= 3; ++level) {
        if (!mem.is_live(table)) return fail(Walk::Misconfig, level, "table not a live page");
        const u64 e = reinterpret_cast<const u64*>(table)[index_at(ia, level)];
        if ((e & bits(2, 0)) == 0) return fail(Walk::Fault, level, "not present (bits 2:0)");
        // 29.3.3.1: write without read is a misconfiguration; so is execute-only unless the
        // CPU supports it (Keel never asks for it).
        if ((e & bit(0)) == 0) return fail(Walk::Misconfig, level, "present without read");
        if (e & bits(51, 48)) return fail(Walk::Misconfig, level, "address bits 51:48 set");
        r = r && (e & bit(0));
        w = w && (e & bit(1));
        x = x && (e & bit(2));
        const bool large = level != 0 && (e & bit(7)) != 0;
        if (level == 0 && (e & bits(7, 3)))
            return fail(Walk::Misconfig, 0, "PML4E bits 7:3 reserved");
        if (level < 3 && !large) { // references the next table (Tables 29-1, 29-3, 29-5)
            if (e & bits(6, 3)) return fail(Walk::Misconfig, level, "table bits 6:3 reserved");
            table = e & bits(47, 12);
            continue;
        }
        const unsigned oa_lo = level == 1 ? 30 : level == 2 ? 21 : 12;
        if (e & bits(oa_lo - 1, 12) & bits(47, 12))
            return fail(Walk::Misconfig, level, "reserved bits below the page size set");
        const u64 type = (e >> 3) & 7; // EPT memory type: 0 UC, 1 WC, 4 WT, 5 WP, 6 WB
        if (type == 2 || type == 3 || type == 7)
            return fail(Walk::Misconfig, level, "reserved EPT memory type");
        Walk out;
        out.kind = Walk::Ok;
        out.level = level;
        out.pa = (e & bits(47, oa_lo)) | (ia & (bit(oa_lo) - 1));
        out.attrs = Attrs{r, w, x, type == 0};
        if (type != 0 && type != 6) return fail(Walk::Misconfig, level, "neither UC nor WB");
        return out;
    }
    return fail(Walk::Misconfig, 3, "walk fell through");
}

// ---- x86-64 4-level paging / AMD NPT (MAXPHYADDR taken as 48) ------------------------------
// `user`: AMD nested tables, where every access is a user access (U/S needed at every level);
// else supervisor accesses with CR0.WP = 1 and EFER.NXE = 1 (the hypervisor's own tables).
Walk x86_walk(HostTables& mem, u64 root, u64 ia, bool user) {
    if (ia >> 48) return fail(Walk::Fault, 0, "beyond 48 bits");
    u64 table = root;
    bool write = true, exec = true, us = true;
    for (int level = 0; level <= 3; ++level) {
        if (!mem.is_live(table)) return fail(Walk::Misconfig, level, "table not a live page");
        const u64 e = reinterpret_cast<const u64*>(table)[index_at(ia, level)];
        if ((e & bit(0)) == 0) return fail(Walk::Fault, level, "not present (P, bit 0)");
        if (e & bits(51, 48)) return fail(Walk::Misconfig, level, "reserved bits 51:48 set");
        write = write && (e & bit(1)); // R/W
        us = us && (e & bit(2));       // U/S
        exec = exec && !(e & bit(63)); // XD
        const bool ps = (e & bit(7)) != 0;
        if (level == 0 && ps) return fail(Walk::Misconfig, 0, "PML4E PS (bit 7) reserved");
        if (level > 0 && level < 3 && ps) { // 1 GiB / 2 MiB page: PAT bit 12, reserved above
            const unsigned oa_lo = level == 1 ? 30 : 21;
            if (e & bits(oa_lo - 1, 13)) return fail(Walk::Misconfig, level, "reserved bits set");
        }
        if (level < 3 && !ps) {
            table = e & bits(47, 12);
            continue;
        }
        const unsigned oa_lo = level == 1 ? 30 : level == 2 ? 21 : 12;
        // PAT index = PAT*4 + PCD*2 + PWT (PAT is bit 12 in large pages, bit 7 in a PTE).
        const u64 pat = level == 3 ? (e >> 7) & 1 : (e >> 12) & 1;
        const u64 index = pat * 4 + ((e >> 4) & 1) * 2 + ((e >> 3) & 1);
        // Power-up PAT: PA0 WB, PA1 WT, PA2 UC-, PA3 UC, then the same again.
        constexpr u8 kResetPat[8] = {6, 4, 7, 0, 6, 4, 7, 0};
        const u8 type = kResetPat[index];
        if (type != 6 && type != 0 && type != 7)
            return fail(Walk::Misconfig, level, "write-through: neither WB nor uncached");
        if (user && !us) return fail(Walk::Fault, level, "U/S clear for a user access");
        if (!user && us) return fail(Walk::Misconfig, level, "host mapping open to CPL 3");
        Walk out;
        out.kind = Walk::Ok;
        out.level = level;
        out.pa = (e & bits(47, oa_lo)) | (ia & (bit(oa_lo) - 1));
        out.attrs = Attrs{true, write, exec, type != 6};
        return out;
    }
    return fail(Walk::Misconfig, 3, "walk fell through");
}

// The walker for each format, and the manuals' names for its levels.
template <typename F>
Walk ref_walk(HostTables& mem, u64 root, u64 ia);
template <>
Walk ref_walk<arm64::Stage2Format>(HostTables& mem, u64 root, u64 ia) {
    return arm_walk(mem, root, ia, ArmRegime::Stage2, 0, 39); // VTCR_EL2.T0SZ 25
}
// The values arch/arm64/mmu.cpp writes to MAIR_EL2 and TCR_EL2.T0SZ (64 - kInputBits) are
// the registers the hardware would use; MAIR's attribute bytes are checked against the
// manual below (Mair).
template <>
Walk ref_walk<arm64::El2Format>(HostTables& mem, u64 root, u64 ia) {
    return arm_walk(mem, root, ia, ArmRegime::El2Stage1, arm64::El2Format::kMair,
                    arm64::El2Format::kInputBits);
}
template <>
Walk ref_walk<x86::EptFormat>(HostTables& mem, u64 root, u64 ia) {
    return ept_walk(mem, root, ia);
}
template <>
Walk ref_walk<x86::NptFormat>(HostTables& mem, u64 root, u64 ia) {
    return x86_walk(mem, root, ia, true);
}
template <>
Walk ref_walk<x86::PagingFormat>(HostTables& mem, u64 root, u64 ia) {
    return x86_walk(mem, root, ia, false);
}

// The manuals' level numbering of the engine's level: ARM starts at 1 here, x86 at 0 (PML4);
// both formats count the same way as the engine (page_table.hpp), so it is the identity.
template <typename F>
class ReferenceWalk : public ::testing::Test {
protected:
    HostTables mem;
    PageTable<F> pt{mem};
    std::map<u64, std::pair<u64, Attrs>> expect; // page -> (pa, attrs as asked)

    static typename PageTable<F>::Input in(u64 a) { return typename PageTable<F>::Input(a); }
    void SetUp() override { ASSERT_EQ(pt.init(), Status::Ok); }
    void TearDown() override { pt.destroy(); }
    Walk walk(u64 ia) { return ref_walk<F>(mem, pt.root().raw(), ia); }

    void expect_mapped(u64 ia, u64 pa, Attrs a, int level) {
        for (u64 off : {u64(0), u64(0x123), level_size(level) - 8}) {
            const Walk w = walk(ia + off);
            ASSERT_EQ(w.kind, Walk::Ok) << std::hex << "ia " << ia + off << ": " << w.why;
            EXPECT_EQ(w.pa, pa + off) << std::hex << ia + off;
            EXPECT_EQ(w.level, level) << std::hex << ia + off;
            EXPECT_EQ(w.attrs, a) << std::hex << ia << " r" << w.attrs.read << " w" << w.attrs.write
                                  << " x" << w.attrs.exec << " dev" << w.attrs.device;
        }
    }
};

using Formats = ::testing::Types<arm64::Stage2Format, x86::EptFormat, x86::NptFormat,
                                 arm64::El2Format, x86::PagingFormat>;
TYPED_TEST_SUITE(ReferenceWalk, Formats);

// Every permission and memory-type combination a caller can ask for, at every leaf level
// the format allows: the hardware must find exactly what was asked.
TYPED_TEST(ReferenceWalk, EveryLeafLevelAndAttributeAsAsked) {
    u64 ia = 0x40000000, pa = 0x100000000;
    for (int level = TypeParam::kTopLevel; level <= 3; ++level) {
        if (level < 3 && !TypeParam::block_allowed(level)) continue;
        for (unsigned combo = 0; combo < 8; ++combo) {
            const Attrs a{true, (combo & 1) != 0, (combo & 2) != 0, (combo & 4) != 0};
            const u64 sz = level_size(level);
            ia = align_up(ia, sz);
            pa = align_up(pa, sz);
            ASSERT_EQ(this->pt.map(this->in(ia), PhysAddr(pa), sz, a), Status::Ok);
            SCOPED_TRACE("level " + std::to_string(level) + " combo " + std::to_string(combo));
            this->expect_mapped(ia, pa, a, level);
            ia += sz;
            pa += 3 * sz;
        }
    }
    EXPECT_EQ(this->walk(ia).kind, Walk::Fault); // the next page: nothing there
}

// Random maps and unmaps (blocks split by partial unmaps): after every step the hardware view
// of a window matches a plain page-by-page model of what was asked.
TYPED_TEST(ReferenceWalk, RandomOperationsAsTheHardwareSeesThem) {
    std::mt19937_64 rng(4321);
    constexpr u64 kSpan = 16 * MiB;
    const u64 base = TypeParam::kTopLevel == 0 ? 0x7f8000000000ull - GiB : 0x40000000ull;
    for (int step = 0; step < 120; ++step) {
        const u64 pages = 1 + rng() % 700;
        u64 off = (rng() % (kSpan / kPageSize - pages)) * kPageSize;
        if (rng() % 3 == 0) off = align_down(off, 2 * MiB);
        const u64 size = pages * kPageSize;
        if (rng() % 3 == 0) {
            ASSERT_EQ(this->pt.unmap(this->in(base + off), size), Status::Ok);
            for (u64 o = 0; o < size; o += kPageSize)
                this->expect.erase(off + o);
        } else {
            const u64 pa = align_down(rng() % (1ull << 40), 2 * MiB) + (off & (2 * MiB - 1));
            const Attrs a{true, (rng() & 1) != 0, (rng() & 2) != 0, (rng() & 4) != 0};
            bool overlaps = false;
            for (u64 o = 0; o < size && !overlaps; o += kPageSize)
                overlaps = this->expect.count(off + o) != 0;
            if (overlaps) continue;
            ASSERT_EQ(this->pt.map(this->in(base + off), PhysAddr(pa), size, a), Status::Ok);
            for (u64 o = 0; o < size; o += kPageSize)
                this->expect[off + o] = {pa + o, a};
        }
        if (step % 20 != 19) continue;
        for (u64 o = 0; o < kSpan; o += kPageSize) {
            const Walk w = this->walk(base + o + 0x10);
            auto it = this->expect.find(o);
            if (it == this->expect.end()) {
                ASSERT_EQ(w.kind, Walk::Fault) << std::hex << "offset " << o << ": " << w.why;
                continue;
            }
            ASSERT_EQ(w.kind, Walk::Ok) << std::hex << "offset " << o << ": " << w.why;
            EXPECT_EQ(w.pa, it->second.first + 0x10) << std::hex << o;
            EXPECT_EQ(w.attrs, it->second.second) << std::hex << o;
        }
    }
}

// ---- Hand-encoded tables: the engine's translate() reads what the manuals define ----------
// Each case writes a descriptor chain by hand (table entries at every level above the
// leaf), then asks both the reference walker and the engine.
struct HandLeaf {
    int level; // of the leaf
    u64 leaf;  // the leaf descriptor, bits from the manual
    u64 table; // bits every table descriptor above it carries (besides its address)
    Walk::Kind kind;
    Attrs attrs; // when Ok
    bool engine; // the engine's translate() must agree (it reads leaves only, and never
                 // writes restricting table entries or faulting leaves: those rows check the
                 // walker's own ability to refuse)
};

template <typename F>
void check_hand(const HandLeaf (&cases)[8], u64 ia, u64 pa) {
    for (const HandLeaf& c : cases) {
        SCOPED_TRACE("level " + std::to_string(c.level) + " leaf " + std::to_string(c.leaf));
        HostTables mem;
        PageTable<F> pt{mem};
        ASSERT_EQ(pt.init(), Status::Ok);
        u64* table = mem.table_ptr(pt.root());
        for (int level = F::kTopLevel; level < c.level; ++level) {
            PhysAddr next;
            u64* t = mem.alloc_table(&next);
            table[index_at(ia, level)] = next.raw() | c.table;
            table = t;
        }
        table[index_at(ia, c.level)] = c.leaf;
        const Walk w = ref_walk<F>(mem, pt.root().raw(), ia + 0x5a8);
        ASSERT_EQ(w.kind, c.kind) << w.why;
        auto t = pt.translate(typename PageTable<F>::Input(ia + 0x5a8));
        if (c.kind == Walk::Ok) {
            EXPECT_EQ(w.pa, pa + 0x5a8);
            EXPECT_EQ(w.level, c.level);
            EXPECT_EQ(w.attrs, c.attrs);
        }
        if (c.engine) {
            ASSERT_TRUE(t.ok());
            EXPECT_EQ(t.value().pa.raw(), pa + 0x5a8);
            EXPECT_EQ(t.value().level, c.level);
            EXPECT_EQ(t.value().attrs, c.attrs);
        }
        // Hand-made tables are the engine's to free: clear them so destroy() finds none.
        pt.destroy();
    }
}

constexpr Attrs kRwx{true, true, true, false}, kRo{true, false, false, false},
    kRx{true, false, true, false}, kDev{true, true, false, true};

// ARM ARM D8.3: table 0b11 at bits 1:0, block 0b01 (levels 1, 2), page 0b11 (level 3);
// stage 2: MemAttr 5:2 (0b1111 Normal WB, 0b0001 Device-nGnRE), S2AP 7:6, SH 9:8, AF 10,
// XN 54:53.
TEST(HandEncoded, Stage2) {
    constexpr u64 pa = 0x80000000, ia = 0x40000000;
    constexpr u64 af = bit(10), ish = 3ull << 8, wb = 0xfull << 2, dev = 1ull << 2, rd = bit(6),
                  wr = bit(7), xn = 2ull << 53;
    const HandLeaf cases[] = {
        {1, pa | 0x1 | af | ish | wb | rd | wr, 0x3, Walk::Ok, kRwx, true},
        {2, pa | 0x1 | af | ish | wb | rd | xn, 0x3, Walk::Ok, kRo, true},
        {3, pa | 0x3 | af | ish | wb | rd, 0x3, Walk::Ok, kRx, true},
        {3, pa | 0x3 | af | dev | rd | wr | xn, 0x3, Walk::Ok, kDev, true},
        {3, pa | 0x1 | af | ish | wb | rd, 0x3, Walk::Fault, {}, false}, // 0b01 at level 3
        {2, pa | 0x0 | af | ish | wb | rd, 0x3, Walk::Fault, {}, false}, // invalid
        {2, pa | 0x1 | ish | wb | rd | wr, 0x3, Walk::Fault, {}, false}, // AF clear
        {1, pa | 0x1 | af | ish | wb | wr, 0x3, Walk::Ok, {false, true, true, false}, true},
    };
    check_hand<arm64::Stage2Format>(cases, ia, pa);
}

// Stage 1 at EL2: AttrIndx 4:2 into MAIR_EL2 (index 1 Normal, 0 Device), AP[2] bit 7,
// SH 9:8, AF 10, XN 54.
TEST(HandEncoded, El2Stage1) {
    constexpr u64 pa = 0x80000000, ia = 0x40000000;
    constexpr u64 af = bit(10), ish = 3ull << 8, normal = 1ull << 2, ro = bit(7), xn = bit(54);
    const HandLeaf cases[] = {
        {1, pa | 0x1 | af | ish | normal, 0x3, Walk::Ok, kRwx, true},
        {2, pa | 0x1 | af | ish | normal | ro | xn, 0x3, Walk::Ok, kRo, true},
        {3, pa | 0x3 | af | ish | normal | ro, 0x3, Walk::Ok, kRx, true},
        {3, pa | 0x3 | af | xn, 0x3, Walk::Ok, kDev, true},
        {3, pa | 0x1 | af | ish | normal, 0x3, Walk::Fault, {}, false},
        {2, pa | 0x2 | af | ish | normal, 0x3, Walk::Fault, {}, false},
        {2, pa | 0x1 | ish | normal, 0x3, Walk::Fault, {}, false},
        {2, pa | 0x1 | af | ish | normal | ro, 0x3, Walk::Ok, kRx, true},
    };
    check_hand<arm64::El2Format>(cases, ia, pa);
}

// SDM Tables 29-1..29-6: R 0, W 1, X 2, memory type 5:3 (leaves: 0 UC, 6 WB), bit 7 maps a
// page in a PDPTE/PDE; a table entry carries R|W|X.
TEST(HandEncoded, Ept) {
    constexpr u64 pa = 0x80000000, ia = 0x40000000;
    constexpr u64 r = bit(0), w = bit(1), x = bit(2), wb = 6ull << 3, large = bit(7);
    const HandLeaf cases[] = {
        {1, pa | r | w | x | wb | large, r | w | x, Walk::Ok, kRwx, true},
        {2, pa | r | wb | large, r | w | x, Walk::Ok, kRo, true},
        {3, pa | r | x | wb, r | w | x, Walk::Ok, kRx, true},
        {3, pa | r | w, r | w | x, Walk::Ok, kDev, true},
        {3, pa | wb, r | w | x, Walk::Fault, {}, false},
        {2, pa | r | w | x | wb | large, r | x, Walk::Ok, kRx, false}, // no W in the PDPTE
        {3, pa | w | wb, r | w | x, Walk::Misconfig, {}, false},       // write-only
        {3, pa | r | (2ull << 3), r | w | x, Walk::Misconfig, {}, false},
    };
    check_hand<x86::EptFormat>(cases, ia, pa);
}

// SDM Tables 4-15..4-20 / APM 5.3.3: P 0, R/W 1, U/S 2, PWT 3, PCD 4, PS 7, XD 63.
TEST(HandEncoded, Npt) {
    constexpr u64 pa = 0x80000000, ia = 0x40000000;
    constexpr u64 p = bit(0), rw = bit(1), us = bit(2), pcd = bit(4), ps = bit(7), xd = bit(63);
    const HandLeaf cases[] = {
        {1, pa | p | rw | us | ps, p | rw | us, Walk::Ok, kRwx, true},
        {2, pa | p | us | ps | xd, p | rw | us, Walk::Ok, kRo, true},
        {3, pa | p | us, p | rw | us, Walk::Ok, kRx, true},
        {3, pa | p | rw | us | pcd | xd, p | rw | us, Walk::Ok, kDev, true},
        {3, pa | rw | us, p | rw | us, Walk::Fault, {}, false},
        {2, pa | p | rw | us | ps, p | us, Walk::Ok, kRx, false}, // no R/W above
        {3, pa | p | rw | us, p | rw, Walk::Fault, {}, false},    // U/S clear above
        {2, pa | p | rw | us | ps, p | rw | us | xd, Walk::Ok, Attrs{true, true, false, false},
         false}, // XD above
    };
    check_hand<x86::NptFormat>(cases, ia, pa);
}

TEST(HandEncoded, X86Paging) {
    constexpr u64 pa = 0x80000000, ia = 0x40000000;
    constexpr u64 p = bit(0), rw = bit(1), pwt = bit(3), pcd = bit(4), ps = bit(7), xd = bit(63),
                  accessed = bit(5), dirty = bit(6);
    const HandLeaf cases[] = {
        {2, pa | p | rw | ps, p | rw, Walk::Ok, kRwx, true},
        {2, pa | p | ps | xd, p | rw, Walk::Ok, kRo, true},
        {3, pa | p, p | rw, Walk::Ok, kRx, true},
        {3, pa | p | rw | pwt | pcd | xd, p | rw, Walk::Ok, kDev, true},
        {3, pa | rw, p | rw, Walk::Fault, {}, false},
        {3, pa | p | rw | accessed | dirty, p | rw | accessed, Walk::Ok, kRwx, true},
        {3, pa | p | rw, p | rw | xd, Walk::Ok, Attrs{true, true, false, false}, false}, // XD above
        {2, pa | p | rw | ps, p, Walk::Ok, kRx, false}, // no R/W above
    };
    check_hand<x86::PagingFormat>(cases, ia, pa);
}

// MAIR_EL2 as programmed: Attr0 0x04 Device-nGnRE, Attr1 0xff Normal Inner/Outer WB
// non-transient, read/write-allocate (ARM ARM, MAIR_EL2 Attr<n> encodings).
TEST(HandEncoded, Mair) {
    bool valid = false;
    EXPECT_TRUE(mair_attr_is_device(arm64::El2Format::kMair, 0, &valid));
    EXPECT_TRUE(valid);
    EXPECT_FALSE(mair_attr_is_device(arm64::El2Format::kMair, 1, &valid));
    EXPECT_EQ((arm64::El2Format::kMair >> 8) & 0xff, 0xffu);
    EXPECT_EQ(arm64::El2Format::kMair & 0xff, 0x04u);
}

} // namespace
