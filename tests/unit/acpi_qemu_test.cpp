// The ACPI reader (hypervisor/acpi/) on the tables QEMU 7.2 really generates, dumped
// with tools/acpi-dump into tests/data/acpi/ (raw memory from kBase; the RSDP first):
//   virt-arm64.bin           virt,gic-version=3,virtualization=on -cpu max -smp 4 -m 1G
//   virt-arm64-smt-numa.bin  the same with -smp 8,sockets=2,cores=2,threads=2 and two
//                            NUMA nodes of 1 GiB (cpus 0-3 on node 0, 4-7 on node 1)
//   q35.bin, q35-smt-numa.bin  q35 with -smp 4 -m 1G, and the SMT/NUMA line as above
// Expected values come from the QEMU command lines (QEMU numbers -smp CPUs thread first,
// then core, then socket), from the device tree QEMU generates for the same arm64 machine
// (the DTB reader must agree), and from the boards' fixed memory maps. Then corrupted
// copies: every table's checksum, lengths past the table, overlapping tables, and every
// single-byte change (checksums repaired so the parsers see it) - refused or read, never
// a read outside what was mapped (each map is an exactly sized copy, so ASan catches it).
#include <gtest/gtest.h>

#include "arch/arm64/dtb_platform.hpp"
#include "tests/unit/acpi_dump.hpp"

// The four boards' dumps hold the tables the readers need.
TEST(AcpiQemu, DumpsListTheExpectedTables) {
    std::string arm, x86;
    for (const Located& t : locate(tables("virt-arm64-smt-numa.bin")))
        arm += t.sig + " ";
    for (const Located& t : locate(tables("q35-smt-numa.bin")))
        x86 += t.sig + " ";
    for (const char* sig : {"XSDT", "FACP", "APIC", "GTDT", "MCFG", "SPCR", "PPTT", "SRAT", "IORT"})
        EXPECT_NE(arm.find(sig), std::string::npos) << sig << " missing from " << arm;
    for (const char* sig : {"FACP", "APIC", "MCFG", "SRAT"})
        EXPECT_NE(x86.find(sig), std::string::npos) << sig << " missing from " << x86;
}

// arm64 virt: ACPI and the device tree QEMU generates for the same machine describe the
// same platform (issue 16: "the discovered platform equals what the DTB path discovers").
TEST(AcpiQemu, Arm64VirtEqualsTheDeviceTreePath) {
    Platform a;
    const char* where = nullptr;
    ASSERT_EQ(read(tables("virt-arm64.bin"), acpi::Flavor::Arm64, a, &where), Status::Ok) << where;
    Platform d;
    const Bytes dtb = load(KEEL_BUILD_DIR "/test-dtbs/qemu-virt-gicv3.dtb");
    ASSERT_EQ(arm64::dtb_read_platform(dtb.data(), d), Status::Ok);
    ASSERT_EQ(a.cpu_count, d.cpu_count);
    for (u32 i = 0; i < a.cpu_count; ++i) {
        EXPECT_EQ(a.cpus[i].hw_id, d.cpus[i].hw_id) << i;
        EXPECT_EQ(a.cpus[i].enabled, d.cpus[i].enabled) << i;
    }
    EXPECT_EQ(a.irq_kind, d.irq_kind);
    EXPECT_EQ(a.irq_dist_base, d.irq_dist_base);
    EXPECT_EQ(a.irq_redist_base, d.irq_redist_base);
    EXPECT_EQ(a.irq_redist_size, d.irq_redist_size);
    EXPECT_EQ(a.its_base, d.its_base);
    EXPECT_EQ(a.uart_base, d.uart_base);
    EXPECT_EQ(a.ecam_base, d.ecam_base);
    EXPECT_EQ(a.ecam_size, d.ecam_size);
    EXPECT_EQ(a.pci_bus_start, d.pci_bus_start);
    EXPECT_EQ(a.pci_bus_end, d.pci_bus_end);
    EXPECT_EQ(a.psci, d.psci);
    // And both against the board's fixed map (hw/arm/virt.c memory map, GICv3).
    EXPECT_EQ(a.irq_kind, IrqControllerKind::GicV3);
    EXPECT_EQ(a.irq_dist_base, 0x08000000u);
    EXPECT_EQ(a.irq_redist_base, 0x080a0000u);
    EXPECT_EQ(a.its_base, 0x08080000u);
    EXPECT_EQ(a.uart_base, 0x09000000u);
    EXPECT_EQ(a.psci, PsciConduit::Smc); // EL2 present, no EL3: PSCI through SMC to QEMU
    EXPECT_FALSE(a.topology_known && a.cpus[1].core == a.cpus[0].core); // -smp 4: 4 cores
}

// -smp 8,sockets=2,cores=2,threads=2: CPU i is thread i%2 of core i/2, socket i/4;
// -numa: cpus 0-3 on node 0, 4-7 on node 1, 1 GiB each from 0x40000000.
TEST(AcpiQemu, Arm64VirtTopologyAndNuma) {
    Platform p;
    const char* where = nullptr;
    ASSERT_EQ(read(tables("virt-arm64-smt-numa.bin"), acpi::Flavor::Arm64, p, &where), Status::Ok)
        << where;
    ASSERT_EQ(p.cpu_count, 8u);
    EXPECT_TRUE(p.topology_known);
    for (u32 i = 0; i < 8; ++i) {
        EXPECT_EQ(p.cpus[i].thread, i % 2) << i;
        EXPECT_EQ(p.cpus[i].core, i / 2) << i;
        EXPECT_EQ(p.cpus[i].package, i / 4) << i;
        EXPECT_EQ(p.cpus[i].node, i / 4) << i;
    }
    ASSERT_GE(p.mem_node_count, 2u);
    EXPECT_EQ(p.mem_nodes[0].base, 0x40000000u);
    EXPECT_EQ(p.mem_nodes[0].size, 1ull << 30);
    EXPECT_EQ(p.mem_nodes[0].node, 0u);
    EXPECT_EQ(p.mem_nodes[1].base, 0x80000000u);
    EXPECT_EQ(p.mem_nodes[1].size, 1ull << 30);
    EXPECT_EQ(p.mem_nodes[1].node, 1u);
}

// q35 -smp 4: local APIC ids 0-3, the chipset's fixed I/O APIC, local APIC and ECAM
// (ICH9/Q35 PCIEXBAR default 0xb0000000, 256 buses).
TEST(AcpiQemu, X86Q35) {
    Platform p;
    ASSERT_EQ(read(tables("q35.bin"), acpi::Flavor::X86, p), Status::Ok);
    ASSERT_EQ(p.cpu_count, 4u);
    for (u32 i = 0; i < 4; ++i)
        EXPECT_EQ(p.cpus[i].hw_id, i);
    EXPECT_EQ(p.irq_kind, IrqControllerKind::Apic);
    EXPECT_EQ(p.irq_dist_base, 0xfec00000u);
    EXPECT_EQ(p.irq_redist_base, 0xfee00000u);
    EXPECT_EQ(p.ecam_base, 0xb0000000u);
    EXPECT_EQ(p.ecam_size, 256ull << 20);
    EXPECT_EQ(p.mem_node_count, 0u);
}

TEST(AcpiQemu, X86Q35Numa) {
    Platform p;
    ASSERT_EQ(read(tables("q35-smt-numa.bin"), acpi::Flavor::X86, p), Status::Ok);
    ASSERT_EQ(p.cpu_count, 8u);
    for (u32 i = 0; i < 8; ++i) {
        EXPECT_EQ(p.cpus[i].hw_id, i) << i; // 1 thread bit, 1 core bit, then the socket
        EXPECT_EQ(p.cpus[i].node, i / 4) << i;
    }
    bool node1_at_1g = false;
    for (u32 i = 0; i < p.mem_node_count; ++i)
        node1_at_1g |= p.mem_nodes[i].node == 1 && p.mem_nodes[i].base == 1ull << 30;
    EXPECT_TRUE(node1_at_1g);
}

// Each arch's tables are refused by the other arch's reading.
TEST(AcpiQemu, WrongArchIsRefused) {
    Platform p, q;
    EXPECT_EQ(read(tables("q35.bin"), acpi::Flavor::Arm64, p), Status::WrongArch);
    EXPECT_EQ(read(tables("virt-arm64.bin"), acpi::Flavor::X86, q), Status::WrongArch);
}

// A byte changed in any table without fixing its checksum: Corrupt, naming the table.
TEST(AcpiQemu, EveryTableChecksumIsChecked) {
    for (const char* file : {"virt-arm64-smt-numa.bin", "q35-smt-numa.bin"}) {
        const Bytes img = tables(file);
        const auto flavor = file[0] == 'v' ? acpi::Flavor::Arm64 : acpi::Flavor::X86;
        for (const Located& t : locate(img)) {
            Bytes bad = img;
            bad[t.off + t.len - 1] ^= 0x40;
            Platform p;
            EXPECT_EQ(read(bad, flavor, p), Status::Corrupt) << file << " " << t.sig;
        }
    }
}

// An MADT entry whose length runs past the table (checksum repaired): Truncated; a zero
// entry length (would loop forever): Corrupt.
TEST(AcpiQemu, MadtEntryLengthsAreBounded) {
    for (const char* file : {"virt-arm64.bin", "q35.bin"}) {
        const Bytes img = tables(file);
        const auto flavor = file[0] == 'v' ? acpi::Flavor::Arm64 : acpi::Flavor::X86;
        const Located madt = find(img, "APIC");
        for (u8 len : {u8{0}, u8{0xff}}) {
            Bytes bad = img;
            usize last = madt.off + 44; // walk to the last entry
            while (last + bad[last + 1] < madt.off + madt.len)
                last += bad[last + 1];
            bad[len == 0 ? madt.off + 44 + 1 : last + 1] = len;
            fix_checksum(bad, madt.off, madt.len, madt.off + 9);
            Platform p;
            const char* where = nullptr;
            EXPECT_EQ(read(bad, flavor, p, &where), len == 0 ? Status::Corrupt : Status::Truncated)
                << file;
            EXPECT_STREQ(where, "APIC");
        }
    }
}

// A table's length grown over its neighbour (checksum repaired): the two overlap -> Corrupt.
// Grown past the end of memory: the map fails -> OutOfRange.
TEST(AcpiQemu, OverlappingAndOversizedTablesAreRefused) {
    const Bytes img = tables("virt-arm64.bin");
    const Located madt = find(img, "APIC");
    Bytes bad = img;
    put32(bad, madt.off + 4, static_cast<u32>(madt.len + 64));
    bad.resize(std::max(bad.size(), madt.off + madt.len + 64));
    fix_checksum(bad, madt.off, madt.len + 64, madt.off + 9);
    Platform p;
    EXPECT_EQ(read(bad, acpi::Flavor::Arm64, p), Status::Corrupt);
    Bytes big = img;
    const Located spcr = find(img, "SPCR");
    put32(big, spcr.off + 4, 1u << 19);
    Platform q;
    EXPECT_EQ(read(big, acpi::Flavor::Arm64, q), Status::OutOfRange);
}

// Every single-byte change to every table (three values each, the table's checksum
// repaired so the parsers see it): the reader returns Ok or an error, never reads
// outside a mapping, and an Ok result still has a CPU and an interrupt controller.
TEST(AcpiQemu, EverySingleByteChangeIsSafe) {
    for (const char* file :
         {"virt-arm64-smt-numa.bin", "virt-arm64-smmu.bin", "q35-smt-numa.bin", "q35-vtd.bin"}) {
        const Bytes img = tables(file);
        const auto flavor = file[0] == 'v' ? acpi::Flavor::Arm64 : acpi::Flavor::X86;
        for (const Located& t : locate(img)) {
            for (usize off = 0; off < t.len; ++off) {
                if (off == 9) continue; // the checksum byte itself
                for (u8 v : {u8{0x00}, u8{0xff}, static_cast<u8>(img[t.off + off] ^ 0x01)}) {
                    Bytes bad = img;
                    bad[t.off + off] = v;
                    fix_checksum(bad, t.off, std::min<usize>(t.len, bad.size() - t.off), t.off + 9);
                    Platform p;
                    if (read(bad, flavor, p) == Status::Ok) {
                        EXPECT_GT(p.cpu_count, 0u);
                        EXPECT_NE(p.irq_kind, IrqControllerKind::None);
                    }
                }
            }
        }
    }
}

// PPTT: a CPU no leaf names, and a parent chain that loops: Corrupt (the topology is what
// keeps SMT siblings apart, so a broken one is never guessed around).
TEST(AcpiQemu, PpttDefectsAreRefused) {
    const Bytes img = tables("virt-arm64-smt-numa.bin");
    const Located pptt = find(img, "PPTT");
    // Processor hierarchy nodes (type 0): flags @4, parent @8, ACPI processor id @12.
    std::vector<usize> leaves, inner;
    for (usize off = pptt.off + 36; off < pptt.off + pptt.len; off += img[off + 1])
        if (img[off] == 0) ((get32(img, off + 4) & (1u << 3)) != 0 ? leaves : inner).push_back(off);
    ASSERT_EQ(leaves.size(), 8u);
    ASSERT_FALSE(inner.empty());
    Bytes unplaced = img;
    put32(unplaced, leaves[5] + 12, 99);
    fix_checksum(unplaced, pptt.off, pptt.len, pptt.off + 9);
    Platform p;
    const char* where = nullptr;
    EXPECT_EQ(read(unplaced, acpi::Flavor::Arm64, p, &where), Status::Corrupt);
    EXPECT_STREQ(where, "PPTT");
    Bytes loop = img;
    for (usize off : inner) // every inner node its own parent: the walk up never ends
        put32(loop, off + 8, static_cast<u32>(off - pptt.off));
    for (usize off : inner)
        put32(loop, off + 4, get32(loop, off + 4) & ~1u); // and no package to stop at
    fix_checksum(loop, pptt.off, pptt.len, pptt.off + 9);
    Platform q;
    EXPECT_EQ(read(loop, acpi::Flavor::Arm64, q), Status::Corrupt);
}

// SRAT: two memory affinity ranges that overlap put one byte in two nodes: Corrupt.
TEST(AcpiQemu, SratOverlappingMemoryIsRefused) {
    const Bytes img = tables("virt-arm64-smt-numa.bin");
    const Located srat = find(img, "SRAT");
    std::vector<usize> mem;
    for (usize off = srat.off + 48; off < srat.off + srat.len; off += img[off + 1])
        if (img[off] == 1 && (get32(img, off + 28) & 1) != 0) mem.push_back(off);
    ASSERT_GE(mem.size(), 2u);
    Bytes bad = img;
    const u64 base0 = get64(img, mem[0] + 8);
    put32(bad, mem[1] + 8, static_cast<u32>(base0 + 4096));
    put32(bad, mem[1] + 12, static_cast<u32>((base0 + 4096) >> 32));
    fix_checksum(bad, srat.off, srat.len, srat.off + 9);
    Platform p;
    const char* where = nullptr;
    EXPECT_EQ(read(bad, acpi::Flavor::Arm64, p, &where), Status::Corrupt);
    EXPECT_STREQ(where, "SRAT");
}

// The same SMT/NUMA machine through its device tree (cpu-map, numa-node-id): the DTB
// reader places every CPU and memory range exactly as the ACPI reader does.
TEST(AcpiQemu, Arm64SmtNumaEqualsTheDeviceTreePath) {
    Platform a;
    ASSERT_EQ(read(tables("virt-arm64-smt-numa.bin"), acpi::Flavor::Arm64, a), Status::Ok);
    Platform d;
    const Bytes dtb = load(KEEL_BUILD_DIR "/test-dtbs/qemu-virt-smt-numa.dtb");
    ASSERT_EQ(arm64::dtb_read_platform(dtb.data(), d), Status::Ok);
    EXPECT_TRUE(d.topology_known);
    ASSERT_EQ(a.cpu_count, d.cpu_count);
    for (u32 i = 0; i < a.cpu_count; ++i) {
        EXPECT_EQ(a.cpus[i].hw_id, d.cpus[i].hw_id) << i;
        EXPECT_EQ(a.cpus[i].core, d.cpus[i].core) << i;
        EXPECT_EQ(a.cpus[i].thread, d.cpus[i].thread) << i;
        EXPECT_EQ(a.cpus[i].package, d.cpus[i].package) << i;
        EXPECT_EQ(a.cpus[i].node, d.cpus[i].node) << i;
    }
    ASSERT_EQ(d.mem_node_count, 2u);
    for (u32 i = 0; i < 2; ++i) {
        bool same = false;
        for (u32 j = 0; j < a.mem_node_count; ++j)
            same |= a.mem_nodes[j].base == d.mem_nodes[i].base &&
                    a.mem_nodes[j].size == d.mem_nodes[i].size &&
                    a.mem_nodes[j].node == d.mem_nodes[i].node;
        EXPECT_TRUE(same) << i;
    }
}
