// The ACPI reader (hypervisor/acpi/), x86 flavour, against synthetic firmware tables
// placed in a fake physical memory. Every table lives in its own exactly sized
// buffer, so a read past what the reader mapped is caught by ASan.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "hypervisor/acpi/platform_acpi.hpp"

using namespace keel;
using Bytes = std::vector<u8>;

namespace {

void put16(Bytes& b, usize off, u16 v) {
    for (usize i = 0; i < 2; ++i)
        b[off + i] = static_cast<u8>(v >> (8 * i));
}
void put32(Bytes& b, usize off, u32 v) {
    for (usize i = 0; i < 4; ++i)
        b[off + i] = static_cast<u8>(v >> (8 * i));
}
void put64(Bytes& b, usize off, u64 v) {
    for (usize i = 0; i < 8; ++i)
        b[off + i] = static_cast<u8>(v >> (8 * i));
}
void append32(Bytes& b, u32 v) {
    b.resize(b.size() + 4);
    put32(b, b.size() - 4, v);
}
void append64(Bytes& b, u64 v) {
    b.resize(b.size() + 8);
    put64(b, b.size() - 8, v);
}
// Sets byte `at` so that bytes [0, n) sum to zero.
void fix_checksum(Bytes& b, usize at, usize n) {
    b[at] = 0;
    u8 sum = 0;
    for (usize i = 0; i < n; ++i)
        sum = static_cast<u8>(sum + b[i]);
    b[at] = static_cast<u8>(-sum);
}

// A system description table: 36-byte header (ACPI 6.5 5.2.6) + body.
Bytes sdt(const char* sig, const Bytes& body) {
    Bytes t(36 + body.size(), 0);
    std::memcpy(t.data(), sig, 4);
    t[8] = 1; // revision
    std::memcpy(t.data() + 10, "KEELTS", 6);
    std::copy(body.begin(), body.end(), t.begin() + 36);
    put32(t, 4, static_cast<u32>(t.size()));
    fix_checksum(t, 9, t.size());
    return t;
}

Bytes rsdp(u8 revision, u32 rsdt, u64 xsdt) {
    Bytes r(revision >= 2 ? 36 : 20, 0);
    std::memcpy(r.data(), "RSD PTR ", 8);
    std::memcpy(r.data() + 9, "KEELTS", 6);
    r[15] = revision;
    put32(r, 16, rsdt);
    if (revision >= 2) {
        put32(r, 20, 36);
        put64(r, 24, xsdt);
        fix_checksum(r, 32, 36);
    }
    fix_checksum(r, 8, 20);
    if (revision >= 2) fix_checksum(r, 32, 36); // the 1.0 checksum byte is inside too
    return r;
}

// MADT body builders (ACPI 6.5 5.2.12).
Bytes madt_body(u32 local_apic) {
    Bytes b;
    append32(b, local_apic);
    append32(b, 1); // PCAT_COMPAT
    return b;
}
void madt_lapic(Bytes& b, u8 uid, u8 apic_id, u32 flags) {
    b.insert(b.end(), {0, 8, uid, apic_id});
    append32(b, flags);
}
void madt_ioapic(Bytes& b, u8 id, u32 addr, u32 gsi_base) {
    b.insert(b.end(), {1, 12, id, 0});
    append32(b, addr);
    append32(b, gsi_base);
}
void madt_x2apic(Bytes& b, u32 id, u32 flags, u32 uid) {
    b.insert(b.end(), {9, 16, 0, 0});
    append32(b, id);
    append32(b, flags);
    append32(b, uid);
}
void madt_lapic_override(Bytes& b, u64 addr) {
    b.insert(b.end(), {5, 12, 0, 0});
    append64(b, addr);
}

Bytes mcfg(u64 base, u16 segment, u8 start, u8 end) {
    Bytes b(8, 0);
    b.resize(b.size() + 16);
    put64(b, 8, base);
    put16(b, 16, segment);
    b[18] = start;
    b[19] = end;
    return sdt("MCFG", b);
}

// Fake physical memory: each region is its own heap buffer of exactly its size.
class FakePhys {
public:
    void put(u64 pa, Bytes bytes) { regions_[pa] = std::move(bytes); }
    Bytes& at(u64 pa) { return regions_.at(pa); }
    acpi::PhysReader reader() { return acpi::PhysReader{&FakePhys::map, this}; }
    int maps = 0;

private:
    static const u8* map(void* ctx, u64 pa, u64 size) {
        auto* self = static_cast<FakePhys*>(ctx);
        ++self->maps;
        for (auto& [base, bytes] : self->regions_)
            if (pa >= base && pa - base <= bytes.size() && size <= bytes.size() - (pa - base))
                return bytes.data() + (pa - base);
        return nullptr;
    }
    std::map<u64, Bytes> regions_;
};

constexpr u64 kRsdp = 0xf5a00;
constexpr u32 kRsdt = 0x7fe1000;
constexpr u64 kXsdt = 0x7fe2000;
constexpr u32 kMadt = 0x7fe3000;
constexpr u32 kMcfg = 0x7fe4000;
constexpr u32 kFacp = 0x7fe5000;

Bytes rsdt(std::initializer_list<u32> entries) {
    Bytes b;
    for (u32 e : entries)
        append32(b, e);
    return sdt("RSDT", b);
}

Bytes qemu_like_madt() {
    Bytes m = madt_body(0xfee00000);
    madt_lapic(m, 0, 0, 1);
    madt_lapic(m, 1, 1, 1);
    madt_ioapic(m, 0, 0xfec00000, 0);
    m.insert(m.end(), {2, 10, 0, 0, 2, 0, 0, 0, 0, 0}); // interrupt source override: skipped
    return sdt("APIC", m);
}

// RSDP 1.0 -> RSDT -> FACP (ignored), APIC, MCFG: QEMU q35's shape.
void qemu_like(FakePhys& mem) {
    mem.put(kRsdp, rsdp(0, kRsdt, 0));
    mem.put(kRsdt, rsdt({kFacp, kMadt, kMcfg}));
    mem.put(kFacp, sdt("FACP", Bytes(80, 0)));
    mem.put(kMadt, qemu_like_madt());
    mem.put(kMcfg, mcfg(0xb0000000, 0, 0, 255));
}

Status read(FakePhys& mem, Platform& p) {
    return acpi::read_platform(kRsdp, mem.reader(), acpi::Flavor::X86, p);
}

} // namespace

TEST(Acpi, ReadsMadtAndMcfgThroughRsdt) {
    FakePhys mem;
    qemu_like(mem);
    Platform p;
    ASSERT_EQ(read(mem, p), Status::Ok);
    ASSERT_EQ(p.cpu_count, 2u);
    EXPECT_EQ(p.cpus[0].hw_id, 0u);
    EXPECT_EQ(p.cpus[1].hw_id, 1u);
    EXPECT_TRUE(p.cpus[1].enabled);
    EXPECT_EQ(p.irq_kind, IrqControllerKind::Apic);
    EXPECT_EQ(p.irq_dist_base, 0xfec00000u);
    EXPECT_EQ(p.irq_redist_base, 0xfee00000u);
    EXPECT_EQ(p.ecam_base, 0xb0000000u);
    EXPECT_EQ(p.ecam_size, 0x10000000u);
    EXPECT_EQ(p.pci_bus_start, 0u);
    EXPECT_EQ(p.pci_bus_end, 255u);
}

TEST(Acpi, NoMcfgMeansNoEcam) {
    FakePhys mem;
    qemu_like(mem);
    mem.put(kRsdt, rsdt({kFacp, kMadt})); // plain pc (i440fx)
    Platform p;
    ASSERT_EQ(read(mem, p), Status::Ok);
    EXPECT_EQ(p.ecam_base, 0u);
    EXPECT_EQ(p.cpu_count, 2u);
}

TEST(Acpi, McfgWindowStartsAtItsFirstBus) {
    FakePhys mem;
    qemu_like(mem);
    mem.put(kMcfg, mcfg(0xe0000000, 0, 0x10, 0x1f));
    Platform p;
    ASSERT_EQ(read(mem, p), Status::Ok);
    EXPECT_EQ(p.ecam_base, 0xe0000000u + 0x10 * MiB);
    EXPECT_EQ(p.ecam_size, 16 * MiB);
    EXPECT_EQ(p.pci_bus_start, 0x10u);
    EXPECT_EQ(p.pci_bus_end, 0x1fu);
}

TEST(Acpi, PrefersXsdtAndReadsX2ApicAndDisabledCpus) {
    FakePhys mem;
    mem.put(kRsdp, rsdp(2, kRsdt, kXsdt));
    mem.put(kRsdt, sdt("RSDT", Bytes{1, 2, 3})); // malformed: must not be looked at
    Bytes x;
    append64(x, kMadt);
    mem.put(kXsdt, sdt("XSDT", x));
    Bytes m = madt_body(0xfee00000);
    madt_lapic(m, 0, 0, 1);
    madt_lapic(m, 1, 1, 0);           // disabled (online capable clear)
    madt_lapic(m, 2, 2, 2);           // online capable, not enabled
    madt_lapic(m, 3, 0xff, 1);        // APIC id 0xff: not a CPU (use x2APIC)
    madt_x2apic(m, 0x100, 1, 4);      // beyond xAPIC ids
    madt_x2apic(m, 0xffffffff, 1, 5); // invalid id: skipped
    madt_x2apic(m, 0, 1, 6);          // duplicate of APIC id 0: first one kept
    madt_lapic_override(m, 0xfee10000);
    madt_ioapic(m, 0, 0xfec00000, 0);
    madt_ioapic(m, 1, 0xfec01000, 24); // second I/O APIC: the first is reported
    mem.put(kMadt, sdt("APIC", m));
    Platform p;
    ASSERT_EQ(read(mem, p), Status::Ok);
    ASSERT_EQ(p.cpu_count, 4u);
    EXPECT_TRUE(p.cpus[0].enabled);
    EXPECT_FALSE(p.cpus[1].enabled);
    EXPECT_FALSE(p.cpus[2].enabled);
    EXPECT_EQ(p.cpus[3].hw_id, 0x100u);
    EXPECT_TRUE(p.cpus[3].enabled);
    EXPECT_EQ(p.irq_redist_base, 0xfee10000u);
    EXPECT_EQ(p.irq_dist_base, 0xfec00000u);
    EXPECT_EQ(p.ecam_base, 0u);
}

TEST(Acpi, Revision2WithoutXsdtFallsBackToRsdt) {
    FakePhys mem;
    qemu_like(mem);
    mem.put(kRsdp, rsdp(2, kRsdt, 0));
    Platform p;
    EXPECT_EQ(read(mem, p), Status::Ok);
    EXPECT_EQ(p.cpu_count, 2u);
}

TEST(Acpi, RejectsBadChecksums) {
    {
        FakePhys mem;
        qemu_like(mem);
        mem.at(kRsdp)[0x10] ^= 1; // RSDT address byte: 1.0 checksum now wrong
        Platform p;
        EXPECT_EQ(read(mem, p), Status::Corrupt);
    }
    {
        FakePhys mem;
        qemu_like(mem);
        mem.put(kRsdp, rsdp(2, kRsdt, kXsdt));
        mem.at(kRsdp)[33] ^= 0x40; // reserved byte: only the extended checksum covers it
        Platform p;
        EXPECT_EQ(read(mem, p), Status::Corrupt);
    }
    {
        FakePhys mem;
        qemu_like(mem);
        mem.at(kRsdt)[36] ^= 0x10; // an entry of the RSDT
        Platform p;
        EXPECT_EQ(read(mem, p), Status::Corrupt);
    }
    {
        FakePhys mem;
        qemu_like(mem);
        mem.at(kMadt)[44 + 3] = 7; // first CPU's APIC id, checksum not fixed
        Platform p;
        EXPECT_EQ(read(mem, p), Status::Corrupt);
    }
    {
        FakePhys mem;
        qemu_like(mem);
        mem.at(kMcfg)[44] ^= 1;
        Platform p;
        EXPECT_EQ(read(mem, p), Status::Corrupt);
    }
}

TEST(Acpi, RejectsWrongSignatures) {
    FakePhys mem;
    qemu_like(mem);
    mem.at(kRsdp)[0] = 'X';
    fix_checksum(mem.at(kRsdp), 8, 20);
    Platform p;
    EXPECT_EQ(read(mem, p), Status::Corrupt);
    FakePhys mem2;
    qemu_like(mem2);
    Bytes wrong = mem2.at(kRsdt);
    std::memcpy(wrong.data(), "XSDT", 4);
    fix_checksum(wrong, 9, wrong.size());
    mem2.put(kRsdt, wrong);
    Platform q;
    EXPECT_EQ(read(mem2, q), Status::Corrupt);
}

TEST(Acpi, RejectsTruncatedMadt) {
    // An entry whose length runs past the table's end.
    {
        FakePhys mem;
        qemu_like(mem);
        Bytes m = madt_body(0xfee00000);
        madt_lapic(m, 0, 0, 1);
        m.insert(m.end(), {1, 12, 0, 0}); // I/O APIC entry cut after 4 bytes
        mem.put(kMadt, sdt("APIC", m));
        Platform p;
        EXPECT_EQ(read(mem, p), Status::Truncated);
    }
    // A single trailing byte: not even a type/length pair.
    {
        FakePhys mem;
        qemu_like(mem);
        Bytes m = madt_body(0xfee00000);
        madt_lapic(m, 0, 0, 1);
        m.push_back(0);
        mem.put(kMadt, sdt("APIC", m));
        Platform p;
        EXPECT_EQ(read(mem, p), Status::Truncated);
    }
    // Shorter than the fixed MADT fields.
    {
        FakePhys mem;
        qemu_like(mem);
        mem.put(kMadt, sdt("APIC", Bytes{0, 0, 0xe0, 0xfe}));
        Platform p;
        EXPECT_EQ(read(mem, p), Status::Truncated);
    }
    // The header claims more bytes than exist at that address.
    {
        FakePhys mem;
        qemu_like(mem);
        Bytes m = mem.at(kMadt);
        put32(m, 4, static_cast<u32>(m.size() + 64));
        fix_checksum(m, 9, m.size());
        mem.put(kMadt, m);
        Platform p;
        EXPECT_EQ(read(mem, p), Status::OutOfRange);
    }
}

TEST(Acpi, RejectsMalformedEntries) {
    auto with_entry = [](std::initializer_list<u8> entry) {
        FakePhys mem;
        qemu_like(mem);
        Bytes m = madt_body(0xfee00000);
        madt_lapic(m, 0, 0, 1);
        m.insert(m.end(), entry);
        mem.put(kMadt, sdt("APIC", m));
        Platform p;
        return read(mem, p);
    };
    EXPECT_EQ(with_entry({0, 0}), Status::Corrupt);             // length 0: would loop forever
    EXPECT_EQ(with_entry({0, 6, 0, 1, 1, 0}), Status::Corrupt); // local APIC shorter than 8
    EXPECT_EQ(with_entry({9, 8, 0, 0, 1, 0, 0, 0}), Status::Corrupt); // x2APIC shorter than 16
    EXPECT_EQ(with_entry({0x7f, 3, 0}), Status::Ok); // unknown type: skipped by length
}

TEST(Acpi, RejectsRootTableWithPartialEntry) {
    FakePhys mem;
    qemu_like(mem);
    mem.put(kRsdt, sdt("RSDT", Bytes{0, 0x30, 0xfe, 0x07, 0x01}));
    Platform p;
    EXPECT_EQ(read(mem, p), Status::Corrupt);
}

TEST(Acpi, NeedsAnEnabledCpuAndAMadt) {
    FakePhys mem;
    qemu_like(mem);
    Bytes m = madt_body(0xfee00000);
    madt_lapic(m, 0, 0, 0);
    mem.put(kMadt, sdt("APIC", m));
    Platform p;
    EXPECT_EQ(read(mem, p), Status::NotFound);

    FakePhys mem2;
    qemu_like(mem2);
    mem2.put(kRsdt, rsdt({kFacp, kMcfg}));
    Platform q;
    EXPECT_EQ(read(mem2, q), Status::NotFound);
}

TEST(Acpi, UnmappableTablesAreErrors) {
    FakePhys mem;
    qemu_like(mem);
    mem.put(kRsdt, rsdt({kFacp, 0x12345000, kMadt}));
    Platform p;
    EXPECT_EQ(read(mem, p), Status::OutOfRange);
    Platform q;
    EXPECT_EQ(acpi::read_platform(0x1000, mem.reader(), acpi::Flavor::X86, q), Status::OutOfRange);
    EXPECT_EQ(acpi::read_platform(0, mem.reader(), acpi::Flavor::X86, q), Status::OutOfRange);
}

TEST(Acpi, BadMcfg) {
    FakePhys mem;
    qemu_like(mem);
    mem.put(kMcfg, mcfg(0xb0000000, 0, 9, 3)); // end bus below start bus
    Platform p;
    EXPECT_EQ(read(mem, p), Status::Corrupt);
    FakePhys mem2;
    qemu_like(mem2);
    mem2.put(kMcfg, sdt("MCFG", Bytes(8 + 10, 0))); // partial allocation entry
    Platform q;
    EXPECT_EQ(read(mem2, q), Status::Corrupt);
}

TEST(Acpi, TooManyEnabledCpus) {
    auto with_cpus = [](u32 enabled, u32 disabled) {
        FakePhys mem;
        qemu_like(mem);
        Bytes m = madt_body(0xfee00000);
        for (u32 i = 0; i < enabled + disabled; ++i)
            madt_x2apic(m, i, i < enabled ? 1 : 0, i);
        mem.put(kMadt, sdt("APIC", m));
        Platform p;
        return read(mem, p);
    };
    EXPECT_EQ(with_cpus(Platform::kMaxCpus, 100), Status::Ok); // extra hot-plug slots dropped
    EXPECT_EQ(with_cpus(Platform::kMaxCpus + 1, 0), Status::OutOfRange);
}

TEST(Acpi, FindsRsdpInBiosWindow) {
    Bytes window(0x20000, 0);
    // A signature with a bad checksum first, then one off the 16-byte grid, then the real one.
    std::memcpy(window.data() + 0x100, "RSD PTR ", 8);
    window[0x108] = 1;
    Bytes good = rsdp(0, kRsdt, 0);
    std::memcpy(window.data() + 0x208, good.data(), good.size());
    std::memcpy(window.data() + 0x1a00, good.data(), good.size());
    auto r = acpi::find_rsdp(window.data(), window.size());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), 0x1a00u);
    // A window too small to hold a whole RSDP after the hit yields nothing.
    EXPECT_EQ(acpi::find_rsdp(window.data(), 0x1a00 + 19).status(), Status::NotFound);
    EXPECT_EQ(acpi::find_rsdp(nullptr, 16).status(), Status::InvalidArgument);
}

// Random corruption of a valid MADT (checksum re-fixed so the parser sees it): any
// Status is fine, a crash or an out-of-bounds read (ASan) is not.
TEST(Acpi, SurvivesRandomlyCorruptedMadt) {
    std::mt19937 rng(1234);
    for (int round = 0; round < 2000; ++round) {
        FakePhys mem;
        qemu_like(mem);
        Bytes m = mem.at(kMadt);
        const int flips = 1 + static_cast<int>(rng() % 6);
        for (int i = 0; i < flips; ++i)
            m[36 + rng() % (m.size() - 36)] = static_cast<u8>(rng());
        if (rng() % 4 == 0) m.resize(36 + rng() % (m.size() - 36));
        put32(m, 4, static_cast<u32>(m.size()));
        fix_checksum(m, 9, m.size());
        mem.put(kMadt, m);
        Platform p;
        (void)read(mem, p);
        EXPECT_LE(p.cpu_count, Platform::kMaxCpus);
    }
}
