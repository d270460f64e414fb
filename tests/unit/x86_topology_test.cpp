// x86 SMT topology from CPUID's extended topology leaf (arch/x86_64/topology.cpp). The
// CPUID answers are what the Intel SDM (vol. 3A 9.9, CPUID leaf 0BH/1FH in vol. 2A)
// defines for a machine of 2 sockets x 2 cores x 2 threads: sub-leaf 0 is the SMT level
// (type 1) with shift 1, sub-leaf 1 the core level (type 2) with shift 2, sub-leaf 2
// invalid. Applied to the APIC ids of QEMU's q35 tables for that machine
// (tests/data/acpi/q35-smt-numa.bin), CPU i must be thread i%2 of core i/2, socket i/4
// (QEMU numbers -smp CPUs thread first).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <list>
#include <vector>

#include "arch/x86_64/topology.hpp"
#include "hypervisor/acpi/platform_acpi.hpp"

using namespace keel;

namespace {

u32 g_max_leaf = 0x1f;
bool g_leaf_1f = false;

x86::CpuidOut fake_cpuid(u32 leaf, u32 sub) {
    if (leaf == 0) return {g_max_leaf, 0, 0, 0};
    if (leaf == 0x1f && !g_leaf_1f) return {0, 0, sub, 0}; // not implemented: EBX = 0
    if (leaf == 0xb || leaf == 0x1f) {
        switch (sub) {
        case 0: return {1, 2, (1u << 8) | sub, 0}; // SMT: shift 1, 2 threads
        case 1: return {2, 4, (2u << 8) | sub, 0}; // core: shift 2, 4 per package
        default: return {0, 0, sub, 0};            // invalid level
        }
    }
    return {};
}

Platform q35_smt() {
    std::ifstream f(KEEL_TEST_DATA_DIR "/acpi/q35-smt-numa.bin", std::ios::binary);
    std::vector<u8> img(std::istreambuf_iterator<char>(f), {});
    struct Phys {
        std::vector<u8>* img;
        std::list<std::vector<u8>> maps;
    } phys{&img, {}};
    auto map = [](void* ctx, u64 pa, u64 size) -> const u8* {
        auto* ph = static_cast<Phys*>(ctx);
        const u64 base = 0x80000000;
        if (pa < base || pa - base + size > ph->img->size()) return nullptr;
        ph->maps.emplace_back(ph->img->begin() + static_cast<long>(pa - base),
                              ph->img->begin() + static_cast<long>(pa - base + size));
        return ph->maps.back().data();
    };
    Platform p;
    EXPECT_EQ(acpi::read_platform(0x80000000, acpi::PhysReader{map, &phys}, acpi::Flavor::X86, p),
              Status::Ok);
    return p;
}

} // namespace

TEST(X86Topology, TwoSocketsTwoCoresTwoThreads) {
    for (bool use_1f : {false, true}) {
        g_max_leaf = 0x1f;
        g_leaf_1f = use_1f;
        const Result<x86::ApicIdLayout> l = x86::read_apic_id_layout(fake_cpuid);
        ASSERT_TRUE(l.ok());
        EXPECT_EQ(l.value().smt_bits, 1u);
        EXPECT_EQ(l.value().package_shift, 2u);
        Platform p = q35_smt();
        ASSERT_EQ(p.cpu_count, 8u);
        x86::apply_apic_id_layout(p, l.value());
        EXPECT_TRUE(p.topology_known);
        for (u32 i = 0; i < 8; ++i) {
            EXPECT_EQ(p.cpus[i].thread, i % 2) << i;
            EXPECT_EQ(p.cpus[i].core, i / 2) << i;
            EXPECT_EQ(p.cpus[i].package, i / 4) << i;
        }
    }
}

TEST(X86Topology, NoLeafMeansNoTopology) {
    g_max_leaf = 0xa; // below 0x0B: the leaf does not exist
    EXPECT_EQ(x86::read_apic_id_layout(fake_cpuid).status(), Status::NotFound);
    g_max_leaf = 0x1f;
}
