// VT-d (drivers/iommu/vtd*): encodings checked against the Intel VT-d specification
// (9.1 root entry, 9.3 context entry, 9.8 second-level entries, 11.4 registers, 11.4.14
// fault recording), and the driver run against the unit model of vtd_model.hpp, which walks
// the tables the way the spec says hardware does. Taking a unit over at a live update:
// vtd_adopt_test.cpp.
#include <gtest/gtest.h>

#include "vtd_model.hpp"

namespace keel::iommu {
namespace {

using namespace vtd;
using namespace model;

TEST(VtdDefs, Entries) {
    const Entry128 r = make_root(0x0000000012345000ull);
    EXPECT_EQ(r.lo, 0x12345001ull) << "9.1: P bit 0, CTP 63:12";
    EXPECT_EQ(r.hi, 0u);
    const Entry128 c = make_context(0x0000004000001000ull, 0x0abc, kAw39);
    EXPECT_EQ(c.lo & 1, 1u) << "P";
    EXPECT_EQ((c.lo >> 1) & 1, 0u) << "FPD clear: faults are recorded";
    EXPECT_EQ((c.lo >> 2) & 3, 0u) << "TT 00: untranslated requests, second level";
    EXPECT_EQ(c.lo & ~0xfffull, 0x0000004000001000ull) << "SLPTPTR";
    EXPECT_EQ(c.hi & 7, 1u) << "AW 001: 39-bit, 3 levels";
    EXPECT_EQ((c.hi >> 8) & 0xffff, 0x0abcu) << "DID 23:8";
    EXPECT_EQ(make_context(0x1000, 1, kAw48).hi & 7, 2u) << "AW 010: 48-bit, 4 levels";
}

TEST(VtdDefs, CapabilityFields) {
    // QEMU 7.2's intel-iommu CAP with aw-bits=48 (hw/i386/intel_iommu.c): ND 2, SAGAW 39+48,
    // MGAW 48, FRO 0x22 (offset 0x220), SLLPS 2M+1G, NFR 0 (one register), PSI.
    const u64 cap = 2ull | (0x6ull << 8) | (47ull << 16) | (0x22ull << 24) | (3ull << 34) |
                    (1ull << 39) | (0ull << 40);
    EXPECT_EQ(cap_domains_log2(cap), 8u);
    EXPECT_EQ(cap_sagaw(cap), kSagaw39 | kSagaw48);
    EXPECT_EQ(cap_mgaw(cap), 48u);
    EXPECT_EQ(cap_fault_offset(cap), 0x220u);
    EXPECT_EQ(cap_sllps(cap) & 1, 1u);
    EXPECT_EQ(cap_fault_count(cap), 1u);
    EXPECT_EQ(ecap_iotlb_offset(0x20ull << 8), 0x200u) << "IRO in 16-byte units";
    const Fault f =
        decode_fault(0x40002123ull, (1ull << 63) | (1ull << 62) | (0x6ull << 32) | 0x0109);
    EXPECT_EQ(f.sid, 0x0109u);
    EXPECT_EQ(f.reason, 6u);
    EXPECT_TRUE(f.read);
    EXPECT_EQ(f.address, 0x40002000u) << "FI: the page";
}

TEST(VtdDefs, SecondLevelEntries) {
    // 9.8: R bit 0, W bit 1, PS bit 7 (in a PDE: a 2 MiB page), ADDR 51:12.
    EXPECT_EQ(VtdSl4::make_leaf(PhysAddr(0x7fe00000), mm::Attrs{true, false, false, false}, 2),
              0x7fe00081ull);
    EXPECT_EQ(VtdSl3::make_table(PhysAddr(0x5000)), 0x5003ull) << "non-leaf: R and W";
    EXPECT_EQ(VtdSl3::kTopLevel, 1);
    EXPECT_EQ(VtdSl4::kTopLevel, 0);
}

Rig* g_rig = nullptr;
void record_clean(const void* p, usize n) { g_rig->cleaned.emplace_back(p, n); }

TEST(Vtd, InitInstallsAnEmptyRootTableAndBlocksEveryFunction) {
    Rig r;
    ASSERT_EQ(r.vtd.init(r.unit, nullptr), Status::Ok);
    EXPECT_TRUE(r.vtd.ready());
    EXPECT_EQ(r.vtd.levels(), 4u) << "48-bit preferred when SAGAW offers it";
    EXPECT_EQ(r.unit.root, reinterpret_cast<u64>(r.mem->root)) << "latched through SRTP";
    EXPECT_TRUE(r.unit.gsts & kTe);
    EXPECT_GE(r.unit.ccmd_count, 1u);
    EXPECT_GE(r.unit.iotlb_count, 1u);
    EXPECT_TRUE(r.unit.fectl & kFectlIm);
    EXPECT_FALSE(r.unit.dma(0x0108, 0x1000, false)) << "nothing attached: blocked";
    Collect c;
    EXPECT_EQ(r.vtd.drain_faults(c), 1u);
    ASSERT_EQ(c.got.size(), 1u);
    EXPECT_EQ(c.got[0].sid, 0x0108u);
    EXPECT_EQ(c.got[0].reason, 1u) << "root entry not present";
    EXPECT_TRUE(c.got[0].read);
    EXPECT_EQ(r.vtd.drain_faults(c), 0u) << "cleared";
}

TEST(Vtd, ThirtyNineBitUnitsGetThreeLevels) {
    Rig r;
    r.unit.cap = (r.unit.cap & ~(0x1full << 8)) | (u64{kSagaw39} << 8);
    ASSERT_EQ(r.vtd.init(r.unit, nullptr), Status::Ok);
    EXPECT_EQ(r.vtd.levels(), 3u);
    const DmaMap m{IoVirt(0x40000000), PhysAddr(ram()), 2 * MiB, true};
    ASSERT_EQ(r.vtd.attach(0x0010, &m, 1), Status::Ok);
    EXPECT_EQ(r.unit.dma(0x0010, 0x40001234, true), ram() + 0x1234);
    const DmaMap far{IoVirt(1ull << 40), PhysAddr(ram()), 2 * MiB, true};
    EXPECT_NE(r.vtd.attach(0x0011, &far, 1), Status::Ok) << "past a 39-bit space";
    EXPECT_FALSE(r.unit.dma(0x0011, 1ull << 40, false));
}

TEST(Vtd, UnsupportedUnitsAreRefused) {
    struct Case {
        const char* what;
        void (*edit)(Unit&);
    } cases[] = {
        {"no 39/48-bit SAGAW", [](Unit& u) { u.cap &= ~(0x1full << 8); }},
        {"no 2 MiB pages", [](Unit& u) { u.cap &= ~(0xfull << 34); }},
        {"16 domains", [](Unit& u) { u.cap &= ~7ull; }},
        {"absent (all ones)", [](Unit& u) { u.cap = ~0ull; }},
    };
    for (const Case& c : cases) {
        Rig r;
        c.edit(r.unit);
        EXPECT_EQ(r.vtd.init(r.unit, nullptr), Status::Unsupported) << c.what;
        EXPECT_FALSE(r.vtd.ready()) << c.what;
        EXPECT_FALSE(r.unit.gsts & kTe) << c.what;
    }
}

TEST(Vtd, AUnitThatNeverAcknowledgesTimesOut) {
    Rig r;
    r.unit.never_ack = true;
    EXPECT_EQ(r.vtd.init(r.unit, nullptr), Status::Timeout);
    EXPECT_FALSE(r.vtd.ready());
}

TEST(Vtd, QueuedUnitsInvalidateThroughTheQueueOnly) {
    Rig r;
    ASSERT_EQ(r.vtd.init(queued_unit(r.unit), nullptr), Status::Ok);
    EXPECT_TRUE(r.vtd.queued());
    EXPECT_TRUE(r.unit.gsts & kQie);
    EXPECT_EQ(r.unit.iqa & ~0xfffull, reinterpret_cast<u64>(r.mem->queue));
    EXPECT_EQ(r.unit.iqa & 0xfff, 0u) << "128-bit descriptors, one page";
    EXPECT_GE(r.unit.qi_ccmd, 1u);
    EXPECT_GE(r.unit.qi_iotlb, 1u);
    EXPECT_EQ(r.unit.ccmd_count + r.unit.iotlb_count, 0u);
    const DmaMap m{IoVirt(0x40000000), PhysAddr(ram()), 2 * MiB, true};
    ASSERT_EQ(r.vtd.attach(0x0109, &m, 1), Status::Ok);
    ASSERT_TRUE(r.unit.dma(0x0109, 0x40000000, true)); // cached
    ASSERT_EQ(r.vtd.detach(0x0109), Status::Ok);
    EXPECT_FALSE(r.unit.dma(0x0109, 0x40000000, true)) << "the queue invalidated it";
    for (int i = 0; i < 200; ++i) { // the queue wraps (256 slots, 3-4 per batch)
        ASSERT_EQ(r.vtd.attach(0x0109, &m, 1), Status::Ok) << i;
        ASSERT_EQ(r.vtd.detach(0x0109), Status::Ok) << i;
    }
    EXPECT_EQ(r.unit.register_inval_while_queued, 0u);
}

TEST(Vtd, ARefusedDescriptorIsAHardwareFault) {
    Rig r;
    ASSERT_EQ(r.vtd.init(queued_unit(r.unit), nullptr), Status::Ok);
    r.unit.refuse_descriptors = true;
    const DmaMap m{IoVirt(0x40000000), PhysAddr(ram()), 4096, true};
    EXPECT_EQ(r.vtd.attach(0x0109, &m, 1), Status::HardwareFault);
}

TEST(Vtd, RemappingBlocksEveryInterruptUntilRouted) {
    Rig r;
    ASSERT_EQ(r.vtd.init(queued_unit(r.unit), nullptr), Status::Ok);
    ASSERT_TRUE(r.vtd.remapping());
    EXPECT_TRUE(r.unit.gsts & kIre);
    EXPECT_FALSE(r.unit.gsts & kCfi) << "compatibility format stays blocked";
    EXPECT_EQ(r.unit.irt, reinterpret_cast<u64>(r.mem->irt));
    EXPECT_EQ(r.unit.irta_latched & 0xf, kVtdIrtLog2 - 1) << "S: 2^(S+1) entries";
    EXPECT_EQ(r.unit.irta_latched & kIrtaEime, 0u) << "xAPIC host";
    // A device writing the classic 0xFEE0_0000 message (what a guest would program).
    EXPECT_FALSE(r.unit.msi(0x0119, 0xfee00000u, 0x41));
    EXPECT_FALSE(r.unit.msi(0x0119, remappable_msi_address(7), 0)) << "entry not present";
    EXPECT_FALSE(r.unit.msi(0x0119, remappable_msi_address(300), 0)) << "past the table";
    Collect c;
    EXPECT_EQ(r.vtd.drain_faults(c), 3u);
    ASSERT_EQ(c.got.size(), 3u);
    EXPECT_EQ(c.got[0].reason, 0x25);
    EXPECT_EQ(c.got[1].reason, 0x22);
    EXPECT_EQ(c.got[2].reason, 0x21);
    EXPECT_STREQ(fault_reason_name(0x25), "compatibility-format interrupt blocked");

    ASSERT_EQ(r.vtd.route_msi(7, 0x41, 2, 0x0119), Status::Ok);
    const auto got = r.unit.msi(0x0119, remappable_msi_address(7), 0);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->first, 0x41);
    EXPECT_EQ(got->second, 2u);
    EXPECT_FALSE(r.unit.msi(0x011a, remappable_msi_address(7), 0)) << "another function";
    ASSERT_EQ(r.vtd.unroute_msi(7), Status::Ok);
    EXPECT_FALSE(r.unit.msi(0x0119, remappable_msi_address(7), 0)) << "no stale cached entry";
    EXPECT_EQ(r.vtd.unroute_msi(7), Status::NotFound);
    EXPECT_EQ(r.vtd.route_msi(256, 0x41, 2, 0x0119), Status::OutOfRange);
    EXPECT_EQ(r.vtd.route_msi(7, 0x41, 300, 0x0119), Status::Unsupported) << "no EIM";
}

// One address with SHV set serves a run of entries: a VF's MSI-X vector k sends data k and
// reaches entry handle + k (VT-d 5.1.2.2), each with its own vector, only from that function.
TEST(Vtd, ASubhandleSelectsTheEntryAfterTheHandle) {
    Rig r;
    ASSERT_EQ(r.vtd.init(queued_unit(r.unit), nullptr), Status::Ok);
    ASSERT_EQ(r.vtd.route_msi(4, 0x44, 0, 0x0119), Status::Ok);
    ASSERT_EQ(r.vtd.route_msi(5, 0x45, 0, 0x0119), Status::Ok);
    const u32 run = remappable_msi_address_shv(4);
    EXPECT_EQ(run, 0xfee00000u | (4u << 5) | (1u << 4) | (1u << 3));
    const auto v0 = r.unit.msi(0x0119, run, 0), v1 = r.unit.msi(0x0119, run, 1);
    ASSERT_TRUE(v0);
    ASSERT_TRUE(v1);
    EXPECT_EQ(v0->first, 0x44);
    EXPECT_EQ(v1->first, 0x45);
    EXPECT_FALSE(r.unit.msi(0x0119, run, 2)) << "entry 6 not present";
    EXPECT_FALSE(r.unit.msi(0x011a, run, 1)) << "another function";
}

TEST(Vtd, X2apicHostsGetThirtyTwoBitDestinationsWhereTheUnitHasEim) {
    Rig r;
    queued_unit(r.unit).ecap |= 1ull << 4; // EIM
    ASSERT_EQ(r.vtd.init(r.unit, nullptr, true), Status::Ok);
    EXPECT_TRUE(r.unit.irta_latched & kIrtaEime);
    ASSERT_EQ(r.vtd.route_msi(3, 0x51, 300, 0x0008), Status::Ok);
    const auto got = r.unit.msi(0x0008, remappable_msi_address(3), 0);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->second, 300u);
}

TEST(Vtd, WithoutRemappingNothingIsRouted) {
    Rig r;
    ASSERT_EQ(r.vtd.init(r.unit, nullptr), Status::Ok); // no QI, no IR
    EXPECT_FALSE(r.vtd.remapping());
    EXPECT_EQ(r.vtd.route_msi(1, 0x41, 0, 0x0008), Status::BadState);
}

TEST(Vtd, FirmwaresQueueAndRemappingAreStoppedFirst) {
    Rig r;
    queued_unit(r.unit);
    r.unit.gsts = kTe | kQie | kIre;
    r.unit.iqh = r.unit.iqt_reg = 0x40; // drained
    ASSERT_EQ(r.vtd.init(r.unit, nullptr), Status::Ok);
    EXPECT_EQ(r.unit.iqa & ~0xfffull, reinterpret_cast<u64>(r.mem->queue)) << "Keel's queue";
    EXPECT_EQ(r.unit.irt, reinterpret_cast<u64>(r.mem->irt)) << "Keel's table";
    Rig busy;
    queued_unit(busy.unit);
    busy.unit.gsts = kQie;
    busy.unit.iqh = 0x10, busy.unit.iqt_reg = 0x40; // firmware's descriptors never fetched
    EXPECT_EQ(busy.vtd.init(busy.unit, nullptr), Status::Timeout);
    EXPECT_FALSE(busy.vtd.ready());
}

TEST(Vtd, FirmwaresLegacyTablesAreReplacedWithoutEverTurningTranslationOff) {
    // Firmware (pre-boot DMA protection) left translation on, function 00:01.0 mapped.
    std::unique_ptr<VtdMemory> fw = std::make_unique<VtdMemory>();
    alignas(4096) static u64 fw_table[3][512];
    fw_table[0][1] = reinterpret_cast<u64>(fw_table[1]) | 3; // 1 GiB -> level-2 table
    fw_table[1][0] = reinterpret_cast<u64>(fw_table[2]) | 3;
    fw_table[2][0] = ram() | 3;
    fw->root[0] = make_root(reinterpret_cast<u64>(fw->context[0]));
    fw->context[0][8] = make_context(reinterpret_cast<u64>(fw_table[0]), 1, kAw39);
    Rig r;
    r.unit.cap = (r.unit.cap & ~(0x1full << 8)) | (u64{kSagaw39} << 8);
    r.unit.rtaddr_reg = r.unit.root = reinterpret_cast<u64>(fw->root);
    r.unit.gsts = kTe;
    ASSERT_EQ(r.unit.dma(0x0008, 0x40000000, true), ram()) << "firmware's mapping works";
    ASSERT_EQ(r.vtd.init(r.unit, nullptr), Status::Ok);
    EXPECT_EQ(r.unit.te_drops, 0u) << "no moment without translation";
    EXPECT_EQ(r.unit.root, reinterpret_cast<u64>(r.mem->root));
    EXPECT_FALSE(r.unit.dma(0x0008, 0x40000000, true)) << "firmware's mapping is gone";
}

TEST(Vtd, AScalableModeRootIsReplacedWithTranslationOff) {
    Rig r;
    r.unit.gsts = kTe;
    r.unit.rtaddr_reg = r.unit.root = 0xdead000 | (1ull << 10); // TTM 01: scalable mode
    ASSERT_EQ(r.vtd.init(r.unit, nullptr), Status::Ok);
    EXPECT_EQ(r.unit.te_drops, 1u);
    EXPECT_EQ(r.unit.root, reinterpret_cast<u64>(r.mem->root));
    EXPECT_TRUE(r.unit.gsts & kTe);
}

TEST(Vtd, AnAttachedFunctionReachesExactlyItsRanges) {
    Rig r;
    ASSERT_EQ(r.vtd.init(r.unit, nullptr), Status::Ok);
    const DmaMap maps[] = {{IoVirt(0x40000000), PhysAddr(ram()), 2 * MiB, true},
                           {IoVirt(0x40200000), PhysAddr(ram() + 2 * MiB), 4096, false}};
    ASSERT_EQ(r.vtd.attach(0x0109, maps, 2), Status::Ok);
    EXPECT_EQ(r.unit.dma(0x0109, 0x40000000, true), ram());
    EXPECT_EQ(r.unit.dma(0x0109, 0x401ffff8, false), ram() + 0x1ffff8);
    EXPECT_EQ(r.unit.dma(0x0109, 0x40200010, false), ram() + 2 * MiB + 0x10);
    EXPECT_FALSE(r.unit.dma(0x0109, 0x40200010, true)) << "read-only range";
    EXPECT_FALSE(r.unit.dma(0x0109, 0x40201000, false)) << "past the second range";
    EXPECT_FALSE(r.unit.dma(0x0109, ram(), true)) << "the physical address is no IOVA";
    EXPECT_FALSE(r.unit.dma(0x010a, 0x40000000, false)) << "another function: no context";
    Collect c;
    EXPECT_EQ(r.vtd.drain_faults(c), 4u);
    ASSERT_EQ(c.got.size(), 4u);
    EXPECT_EQ(c.got[0].reason, 5u) << "write not allowed";
    EXPECT_FALSE(c.got[0].read);
    EXPECT_EQ(c.got[0].address, 0x40200000u);
    EXPECT_EQ(c.got[3].sid, 0x010au);
    EXPECT_EQ(c.got[3].reason, 2u) << "context entry not present";
    EXPECT_EQ(r.vtd.attach(0x0109, maps, 1), Status::AlreadyExists);
}

TEST(Vtd, DetachBlocksAgainEvenWithTranslationsCached) {
    Rig r;
    ASSERT_EQ(r.vtd.init(r.unit, nullptr), Status::Ok);
    const DmaMap m{IoVirt(0x40000000), PhysAddr(ram()), 2 * MiB, true};
    ASSERT_EQ(r.vtd.attach(0x0109, &m, 1), Status::Ok);
    ASSERT_TRUE(r.unit.dma(0x0109, 0x40000000, true)); // now cached in the model
    ASSERT_EQ(r.vtd.detach(0x0109), Status::Ok);
    EXPECT_FALSE(r.unit.dma(0x0109, 0x40000000, true)) << "no stale translation";
    EXPECT_EQ(r.vtd.detach(0x0109), Status::NotFound);
    // The next owner of the function sees only its own ranges.
    const DmaMap m2{IoVirt(0x40000000), PhysAddr(ram() + 2 * MiB), 2 * MiB, true};
    ASSERT_EQ(r.vtd.attach(0x0109, &m2, 1), Status::Ok);
    EXPECT_EQ(r.unit.dma(0x0109, 0x40000000, false), ram() + 2 * MiB);
}

TEST(Vtd, RunningOutOfContextTablesChangesNothing) {
    Rig r;
    ASSERT_EQ(r.vtd.init(r.unit, nullptr), Status::Ok);
    const DmaMap m{IoVirt(0x40000000), PhysAddr(ram()), 4096, true};
    for (u16 bus = 0; bus < kVtdContextTables; ++bus)
        ASSERT_EQ(r.vtd.attach(static_cast<u16>(bus << 8 | 8), &m, 1), Status::Ok) << bus;
    const u16 extra = static_cast<u16>(kVtdContextTables << 8 | 8);
    EXPECT_EQ(r.vtd.attach(extra, &m, 1), Status::NoMemory);
    EXPECT_EQ(r.mem->root[kVtdContextTables].lo, 0u) << "no root entry left behind";
    ASSERT_EQ(r.vtd.attach(0x0009, &m, 1), Status::Ok) << "a bus with a table still works";
    EXPECT_EQ(r.unit.dma(0x0009, 0x40000000, false), ram());
}

TEST(Vtd, AFailedMapLeavesTheFunctionBlocked) {
    Rig r;
    ASSERT_EQ(r.vtd.init(r.unit, nullptr), Status::Ok);
    const DmaMap bad[] = {{IoVirt(0x40000000), PhysAddr(ram()), 4096, true},
                          {IoVirt(0x40000000), PhysAddr(ram() + 8192), 4096, true}}; // overlap
    EXPECT_NE(r.vtd.attach(0x0109, bad, 2), Status::Ok);
    EXPECT_FALSE(r.unit.dma(0x0109, 0x40000000, false));
    EXPECT_EQ(r.mem->root[1].lo, 0u);
    EXPECT_EQ(r.vtd.detach(0x0109), Status::NotFound);
}

TEST(Vtd, FaultOverflowIsReported) {
    Rig r;
    ASSERT_EQ(r.vtd.init(r.unit, nullptr), Status::Ok);
    for (u32 i = 0; i < Unit::kNfr + 2; ++i)
        (void)r.unit.dma(static_cast<u16>(0x100 + i), 0x1000, false);
    Collect c;
    bool over = false;
    EXPECT_EQ(r.vtd.drain_faults(c, &over), Unit::kNfr);
    EXPECT_TRUE(over);
    EXPECT_EQ(r.unit.fsts & kFstsPfo, 0u) << "acknowledged";
    EXPECT_EQ(r.vtd.drain_faults(c, &over), 0u);
    EXPECT_FALSE(over);
}

TEST(Vtd, NonSnoopingUnitsGetEveryTableWriteCleaned) {
    Rig r;
    g_rig = &r;
    r.unit.ecap &= ~1ull; // ECAP.C = 0
    ASSERT_EQ(r.vtd.init(r.unit, record_clean), Status::Ok);
    auto covered = [&](const void* p) {
        for (const auto& [base, n] : r.cleaned)
            if (p >= base && static_cast<const u8*>(p) < static_cast<const u8*>(base) + n)
                return true;
        return false;
    };
    EXPECT_TRUE(covered(&r.mem->root[0]));
    r.cleaned.clear();
    const DmaMap m{IoVirt(0x40000000), PhysAddr(ram()), 2 * MiB, true};
    ASSERT_EQ(r.vtd.attach(0x0109, &m, 1), Status::Ok);
    EXPECT_TRUE(covered(&r.mem->root[1])) << "the bus's root entry";
    const Entry128 re = r.mem->root[1];
    const auto* ctx = reinterpret_cast<const Entry128*>(re.lo & ~0xfffull);
    EXPECT_TRUE(covered(&ctx[9])) << "the context entry";
    EXPECT_TRUE(covered(reinterpret_cast<const void*>(ctx[9].lo & ~0xfffull))) << "the tables";
    g_rig = nullptr;
}

} // namespace
} // namespace keel::iommu
