// VT-d (drivers/iommu/vtd*): encodings checked against the Intel VT-d specification
// (9.1 root entry, 9.3 context entry, 9.8 second-level entries, 11.4 registers, 11.4.14
// fault recording), and the driver run against this file's model of a remapping unit:
// it walks the root, context and second-level tables the way the spec says hardware
// does (not with the page-table engine), caches context entries and translations until
// the driver invalidates them (so a missing invalidation shows as a stale translation),
// and records faults in its fault recording registers.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "drivers/iommu/vtd.hpp"

namespace keel::iommu {
namespace {

using namespace vtd;

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

// A remapping unit. Registers as 32-bit cells; writes to command registers act on the
// high doubleword (the driver writes low then high, 11.2).
class Unit final : public Mmio {
public:
    static constexpr u32 kFro = 0x220, kIro = 0x200, kNfr = 4;
    u64 cap = 2ull | (0x6ull << 8) | (47ull << 16) | (u64{kFro / 16} << 24) | (3ull << 34) |
              (u64{kNfr - 1} << 40);
    u64 ecap = (u64{kIro / 16} << 8) | 1; // coherent
    u32 gsts = 0;
    u32 te_drops = 0; // times translation went from on to off
    bool never_ack = false;
    u64 rtaddr_reg = 0, root = 0; // root = the latched pointer (SRTP)
    u32 ccmd_count = 0, iotlb_count = 0, wbf_count = 0;
    u32 fsts = 0, fectl = 0;
    u64 frcd[kNfr][2] = {};
    u32 next_fr = 0;
    // Queued invalidation and interrupt remapping state (6.5.2, 5.1).
    u64 iqa = 0, iqh = 0, iqt_reg = 0, irta_reg = 0, irt = 0, irta_latched = 0;
    u32 iec_count = 0, qi_ccmd = 0, qi_iotlb = 0, register_inval_while_queued = 0;
    bool refuse_descriptors = false;
    u32 writes = 0;                                          // register writes of any kind
    std::map<u16, Entry128> iec;                             // interrupt entry cache
    std::map<u16, Entry128> ctx_cache;                       // context cache
    std::map<std::pair<u16, u64>, std::pair<u64, bool>> tlb; // (rid, page) -> (pa, write ok)

    u32 read32(u32 off) override {
        auto half = [&](u64 v) { return static_cast<u32>((off & 4) ? v >> 32 : v); };
        if (off == kCap || off == kCap + 4) return half(cap);
        if (off == kEcap || off == kEcap + 4) return half(ecap);
        if (off == kGsts) return gsts;
        if (off == kCcmd || off == kCcmd + 4) return 0; // ICC clear: done
        if (off == kIro + kIotlbReg || off == kIro + kIotlbReg + 4) return 0;
        if (off == kFsts) return fsts;
        if (off == kRtaddr || off == kRtaddr + 4) return half(rtaddr_reg);
        if (off == kIqh || off == kIqh + 4) return half(iqh);
        if (off == kIqt || off == kIqt + 4) return half(iqt_reg);
        if (off == kIqa || off == kIqa + 4) return half(iqa);
        if (off == kIrta || off == kIrta + 4) return half(irta_reg);
        if (off >= kFro && off < kFro + kNfr * 16) {
            const u32 i = (off - kFro) / 16, q = ((off - kFro) % 16) / 8;
            return half(frcd[i][q]);
        }
        return 0;
    }
    void write32(u32 off, u32 v) override {
        ++writes;
        if (off == kRtaddr) rtaddr_reg = (rtaddr_reg & ~0xffffffffull) | v;
        if (off == kRtaddr + 4) rtaddr_reg = (rtaddr_reg & 0xffffffffull) | (u64{v} << 32);
        if (off == kGcmd) gcmd(v);
        if ((off == kCcmd + 4 || off == kIro + kIotlbReg + 4) && (gsts & kQie))
            ++register_inval_while_queued; // not allowed (6.5.2): must not happen
        if (off == kCcmd + 4 && (v & 0x80000000u)) ++ccmd_count, ctx_cache.clear();
        if (off == kIro + kIotlbReg + 4 && (v & 0x80000000u)) ++iotlb_count, tlb.clear();
        set64(off, kIqa, iqa, v);
        set64(off, kIrta, irta_reg, v);
        if (set64(off, kIqt, iqt_reg, v) && off == kIqt) run_queue();
        if (off == kFsts) fsts &= ~(v & (kFstsPfo | kFstsPpf));
        if (off == kFectl) fectl = v;
        if (off >= kFro && off < kFro + kNfr * 16 && (off % 16) == 12 && (v & 0x80000000u))
            frcd[(off - kFro) / 16][1] &= ~kFaultF;
    }
    static bool set64(u32 off, u32 reg, u64& r, u32 v) {
        if (off == reg) r = (r & ~0xffffffffull) | v;
        if (off == reg + 4) r = (r & 0xffffffffull) | (u64{v} << 32);
        return off == reg || off == reg + 4;
    }
    void gcmd(u32 v) {
        if (never_ack) return;
        if (v & kSrtp) root = rtaddr_reg, gsts |= kSrtp; // RTPS
        if (v & kSirtp) irta_latched = irta_reg, irt = irta_reg & ~0xfffull, gsts |= kSirtp;
        if (v & kWbf) ++wbf_count;
        if ((v & kQie) && !(gsts & kQie)) iqh = 0;
        if ((gsts & kTe) && !(v & kTe)) ++te_drops;
        gsts = (gsts & ~(kTe | kQie | kIre | kCfi)) | (v & (kTe | kQie | kIre | kCfi));
    }
    // Fetches descriptors from IQH to IQT (6.5.2): types 1, 2, 4 and 5 with SW.
    void run_queue() {
        if (!(gsts & kQie)) return;
        const auto* q = reinterpret_cast<const Entry128*>(iqa & ~0xfffull);
        while (iqh != iqt_reg) {
            const Entry128 d = q[(iqh >> 4) % 256];
            if (refuse_descriptors) {
                fsts |= kFstsIqe;
                return;
            }
            switch (d.lo & 0xf) {
            case 1: ++qi_ccmd, ctx_cache.clear(); break;
            case 2: ++qi_iotlb, tlb.clear(); break;
            case 4: ++iec_count, iec.clear(); break;
            case 5:
                if (d.lo & (1ull << 5))
                    *reinterpret_cast<u32*>(d.hi & ~3ull) = static_cast<u32>(d.lo >> 32);
                break;
            default: fsts |= kFstsIqe; return;
            }
            iqh = (iqh + 16) % (256 * 16);
        }
    }
    // An interrupt message as the unit remaps it (5.1.4): the (vector, APIC id) it
    // delivers, or nullopt with a fault recorded.
    std::optional<std::pair<u8, u32>> msi(u16 sid, u32 addr, u32 data) {
        if (!(gsts & kIre)) return std::pair<u8, u32>{static_cast<u8>(data), (addr >> 12) & 0xff};
        if (!(addr & (1u << 4))) { // compatibility format
            if ((irta_latched & kIrtaEime) || !(gsts & kCfi)) return irq_fail(sid, 0x25);
            return std::pair<u8, u32>{static_cast<u8>(data), (addr >> 12) & 0xff};
        }
        u32 handle = ((addr >> 5) & 0x7fff) | (((addr >> 2) & 1) << 15);
        if (addr & (1u << 3)) handle += data & 0xffff; // SHV: handle + subhandle (5.1.2.2)
        if (handle >= (2u << (irta_latched & 0xf))) return irq_fail(sid, 0x21);
        Entry128 e{};
        if (auto k = iec.find(static_cast<u16>(handle)); k != iec.end())
            e = k->second;
        else
            e = reinterpret_cast<const Entry128*>(irt)[handle];
        if (!(e.lo & 1)) return irq_fail(sid, 0x22);
        iec[static_cast<u16>(handle)] = e;
        if (((e.hi >> 18) & 3) == 1 && (e.hi & 0xffff) != sid) return irq_fail(sid, 0x26);
        const u32 dest = (irta_latched & kIrtaEime) ? static_cast<u32>(e.lo >> 32)
                                                    : static_cast<u32>(e.lo >> 40) & 0xff;
        return std::pair<u8, u32>{static_cast<u8>(e.lo >> 16), dest};
    }
    std::optional<std::pair<u8, u32>> irq_fail(u16 sid, u8 reason) {
        record(sid, reason, false, 0);
        return std::nullopt;
    }
    void record(u16 sid, u8 reason, bool read, u64 addr) {
        if (frcd[next_fr][1] & kFaultF) {
            fsts |= kFstsPfo;
            return;
        }
        frcd[next_fr][0] = addr & ~0xfffull;
        frcd[next_fr][1] = kFaultF | (read ? 1ull << 62 : 0) | (u64{reason} << 32) | sid;
        if (!(fsts & kFstsPpf)) fsts = (fsts & ~0xff00u) | (next_fr << 8) | kFstsPpf; // the first
        next_fr = (next_fr + 1) % kNfr;
    }
    // One DMA access as the unit translates it (chapter 3, 9): the physical address, or
    // nullopt with a fault recorded.
    std::optional<u64> dma(u16 rid, u64 iova, bool write) {
        if (!(gsts & kTe)) return iova; // translation off: passed through
        const u64 page = iova >> 12;
        if (auto t = tlb.find({rid, page}); t != tlb.end()) {
            if (write && !t->second.second) return fail(rid, 5, !write, iova);
            return t->second.first | (iova & 0xfff);
        }
        Entry128 c{};
        if (auto k = ctx_cache.find(rid); k != ctx_cache.end()) {
            c = k->second;
        } else {
            const auto* rt = reinterpret_cast<const Entry128*>(root);
            const Entry128 re = rt[rid >> 8];
            if (!(re.lo & 1)) return fail(rid, 1, !write, iova);
            c = reinterpret_cast<const Entry128*>(re.lo & ~0xfffull)[rid & 0xff];
            if (!(c.lo & 1)) return fail(rid, 2, !write, iova);
            ctx_cache[rid] = c;
        }
        const u32 aw = static_cast<u32>(c.hi & 7);
        const int levels = aw == 1 ? 3 : aw == 2 ? 4 : 0;
        if (levels == 0 || (c.lo >> 2 & 3) != 0) return fail(rid, 3, !write, iova);
        if (iova >> (levels == 3 ? 39 : 48)) return fail(rid, 4, !write, iova);
        u64 table = c.lo & ~0xfffull;
        bool w_ok = true;
        for (int l = levels - 1; l >= 0; --l) { // l: the level's shift index (0 = 4 KiB)
            const u64 e = reinterpret_cast<const u64*>(table)[(iova >> (12 + 9 * l)) & 511];
            if (!(e & 3)) return fail(rid, write ? 5 : 6, !write, iova);
            if (!(e & 1)) return fail(rid, 6, !write, iova);
            w_ok = w_ok && (e & 2);
            const u64 addr = e & 0x000ffffffffff000ull;
            if (l == 0 || (l == 1 && (e & 0x80))) {
                const u64 pa = l == 0 ? addr : addr + (iova & 0x1ff000);
                tlb[{rid, page}] = {pa, w_ok};
                if (write && !w_ok) return fail(rid, 5, !write, iova);
                return pa | (iova & 0xfff);
            }
            table = addr;
        }
        return fail(rid, 3, !write, iova);
    }
    std::optional<u64> fail(u16 rid, u8 reason, bool read, u64 iova) {
        record(rid, reason, read, iova);
        return std::nullopt;
    }
};

struct Collect final : FaultSink {
    std::vector<Fault> got;
    void fault(const Fault& f) override { got.push_back(f); }
};

struct Rig {
    std::unique_ptr<VtdMemory> mem = std::make_unique<VtdMemory>();
    std::unique_ptr<mm::TableStorage<64>> storage = std::make_unique<mm::TableStorage<64>>();
    mm::TablePool pool{*storage};
    Vtd vtd{*mem, pool};
    Unit unit;
    std::vector<std::pair<const void*, usize>> cleaned;
};
Rig* g_rig = nullptr;
void record_clean(const void* p, usize n) { g_rig->cleaned.emplace_back(p, n); }

// Backing "memory" a VM would own: two 2 MiB-aligned ranges.
alignas(2 * MiB) u8 g_ram[4 * MiB];
u64 ram() { return reinterpret_cast<u64>(g_ram); }

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

// A unit with the invalidation queue and interrupt remapping (ECAP.QI, ECAP.IR), as
// QEMU's intel-iommu with intremap=on (its ECAP 0xf00f4a: QI, IR, EIM, PT, ...).
Unit& queued_unit(Unit& u) {
    u.ecap |= (1ull << 1) | (1ull << 3);
    return u;
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

// A live update's incoming image takes the unit over from the memory the outgoing one left
// (docs/handover.md §4 step 4): a second driver on the same VtdMemory and table pages, its own
// page flags clear, adopts without writing a register, and then owns exactly what was there.
struct Adopted {
    bool used[64] = {};
    mm::TablePool pool;
    Vtd vtd;
    explicit Adopted(Rig& r) : pool(r.storage->pages, used), vtd(*r.mem, pool) {}
};

// The outgoing image's state: two functions on two buses, one interrupt route.
void outgoing(Rig& r) {
    ASSERT_EQ(r.vtd.init(queued_unit(r.unit), nullptr), Status::Ok);
    const DmaMap a{IoVirt(0x40000000), PhysAddr(ram()), 2 * MiB, true};
    const DmaMap b{IoVirt(0x80000000), PhysAddr(ram() + 2 * MiB), 4096, false};
    ASSERT_EQ(r.vtd.attach(0x0109, &a, 1), Status::Ok);
    ASSERT_EQ(r.vtd.attach(0x0310, &b, 1), Status::Ok);
    ASSERT_EQ(r.vtd.route_msi(3, 0x43, 2, 0x0109), Status::Ok);
}

TEST(VtdAdopt, TakesOverEveryDomainAndRouteWithoutWritingTheUnit) {
    Rig r;
    outgoing(r);
    const u32 writes = r.unit.writes;
    Adopted in(r);
    ASSERT_EQ(in.vtd.adopt(r.unit, nullptr), Status::Ok);
    EXPECT_EQ(r.unit.writes, writes) << "nothing written to the unit";
    EXPECT_TRUE(in.vtd.ready());
    EXPECT_EQ(in.vtd.levels(), 4u);
    EXPECT_TRUE(in.vtd.queued());
    EXPECT_TRUE(in.vtd.remapping());
    EXPECT_EQ(in.vtd.domains(), 2u);
    EXPECT_EQ(in.pool.in_use(), r.pool.in_use()) << "every table page claimed, no other";
    EXPECT_TRUE(in.vtd.routed(3, 0x43, 2, 0x0109));
    EXPECT_FALSE(in.vtd.routed(3, 0x43, 2, 0x0108)) << "another source";
    EXPECT_FALSE(in.vtd.routed(3, 0x44, 2, 0x0109)) << "another vector";
    EXPECT_TRUE(in.vtd.route_present(3));
    EXPECT_FALSE(in.vtd.route_present(4));
    // The device's DMA went on throughout: the unit still walks the same tables.
    EXPECT_EQ(r.unit.dma(0x0109, 0x40001000, true), ram() + 0x1000);
    // The adopted state is the driver's own: the function is known (attach refuses), detach
    // blocks it and frees its pages, the queue goes on where the outgoing image left it.
    const DmaMap again{IoVirt(0x40000000), PhysAddr(ram()), 4096, true};
    EXPECT_EQ(in.vtd.attach(0x0310, &again, 1), Status::AlreadyExists);
    const u32 before = in.pool.in_use();
    ASSERT_EQ(in.vtd.detach(0x0109), Status::Ok);
    EXPECT_LT(in.pool.in_use(), before);
    EXPECT_FALSE(r.unit.dma(0x0109, 0x40001000, true)) << "blocked, no stale translation";
    EXPECT_EQ(r.unit.dma(0x0310, 0x80000010, false), ram() + 2 * MiB + 0x10);
    ASSERT_EQ(in.vtd.attach(0x0109, &again, 1), Status::Ok);
    EXPECT_EQ(r.unit.dma(0x0109, 0x40000008, false), ram() + 8);
    ASSERT_EQ(in.vtd.unroute_msi(3), Status::Ok);
    EXPECT_FALSE(r.unit.msi(0x0109, remappable_msi_address(3), 0)) << "no stale cached entry";
    EXPECT_EQ(in.vtd.adopt(r.unit, nullptr), Status::BadState) << "once";
}

TEST(VtdAdopt, AUnitThatInitLeftEmptyIsTakenAsIs) {
    Rig r;
    ASSERT_EQ(r.vtd.init(r.unit, nullptr), Status::Ok); // register-based, no remapping
    Adopted in(r);
    ASSERT_EQ(in.vtd.adopt(r.unit, nullptr), Status::Ok);
    EXPECT_FALSE(in.vtd.queued());
    EXPECT_FALSE(in.vtd.remapping());
    EXPECT_EQ(in.vtd.domains(), 0u);
    const DmaMap m{IoVirt(0x40000000), PhysAddr(ram()), 2 * MiB, true};
    ASSERT_EQ(in.vtd.attach(0x0109, &m, 1), Status::Ok);
    EXPECT_EQ(r.unit.dma(0x0109, 0x40000000, true), ram());
}

// Whatever differs from what init and attach leave is refused, and the driver stays unusable.
TEST(VtdAdopt, StateInitAndAttachWouldNotLeaveIsRefused) {
    struct Case {
        const char* what;
        void (*edit)(Rig&);
        Status want;
    };
    const Case cases[] = {
        {"translation off", [](Rig& r) { r.unit.gsts &= ~kTe; }, Status::Corrupt},
        {"another root table", [](Rig& r) { r.unit.rtaddr_reg += 4096; }, Status::Corrupt},
        {"a scalable-mode root", [](Rig& r) { r.unit.rtaddr_reg |= kRtaddrTtm; }, Status::Corrupt},
        {"the queue off", [](Rig& r) { r.unit.gsts &= ~kQie; }, Status::Corrupt},
        {"the queue not drained", [](Rig& r) { r.unit.iqt_reg = (r.unit.iqh + 32) % 4096; },
         Status::Corrupt},
        {"another queue", [](Rig& r) { r.unit.iqa += 4096; }, Status::Corrupt},
        {"remapping off", [](Rig& r) { r.unit.gsts &= ~kIre; }, Status::Corrupt},
        {"compatibility format allowed", [](Rig& r) { r.unit.gsts |= kCfi; }, Status::Corrupt},
        {"another remapping table", [](Rig& r) { r.unit.irta_reg += 4096; }, Status::Corrupt},
        {"a root entry outside the context tables",
         [](Rig& r) { r.mem->root[7] = make_root(reinterpret_cast<u64>(r.mem->irt)); },
         Status::Corrupt},
        {"two buses on one context table", [](Rig& r) { r.mem->root[7] = r.mem->root[1]; },
         Status::Corrupt},
        {"reserved bits in a root entry", [](Rig& r) { r.mem->root[1].hi = 1; }, Status::Corrupt},
        {"a context entry with domain 0",
         [](Rig& r) {
             auto* ctx = reinterpret_cast<Entry128*>(r.mem->root[1].lo & ~0xfffull);
             ctx[9].hi &= 0xff;
         },
         Status::Corrupt},
        {"two functions in one domain",
         [](Rig& r) {
             auto* ctx = reinterpret_cast<Entry128*>(r.mem->root[1].lo & ~0xfffull);
             ctx[10] = ctx[9];
         },
         Status::Corrupt},
        {"a 39-bit context on a 48-bit unit",
         [](Rig& r) {
             auto* ctx = reinterpret_cast<Entry128*>(r.mem->root[1].lo & ~0xfffull);
             ctx[9].hi = (ctx[9].hi & ~7ull) | kAw39;
         },
         Status::Corrupt},
        {"a tree outside the pool",
         [](Rig& r) {
             auto* ctx = reinterpret_cast<Entry128*>(r.mem->root[1].lo & ~0xfffull);
             ctx[9].lo = reinterpret_cast<u64>(r.mem->irt) | 1;
         },
         Status::Corrupt},
        {"a table below the root outside the pool",
         [](Rig& r) {
             auto* ctx = reinterpret_cast<Entry128*>(r.mem->root[1].lo & ~0xfffull);
             auto* top = reinterpret_cast<u64*>(ctx[9].lo & ~0xfffull);
             top[1] = reinterpret_cast<u64>(r.mem->irt) | 3;
         },
         Status::Corrupt},
        {"a unit Keel cannot drive", [](Rig& r) { r.unit.cap &= ~(0x1full << 8); },
         Status::Unsupported},
    };
    for (const Case& c : cases) {
        Rig r;
        outgoing(r);
        c.edit(r);
        Adopted in(r);
        EXPECT_EQ(in.vtd.adopt(r.unit, nullptr), c.want) << c.what;
        EXPECT_FALSE(in.vtd.ready()) << c.what;
    }
}

} // namespace
} // namespace keel::iommu
