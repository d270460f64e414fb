// SMMUv3 structures and driver (drivers/iommu/): encodings checked bit by bit against ARM
// IHI 0070 (§5.2 STE, §5.4 CD, §4 commands, §7.3 event records, §6.3 registers), and the
// driver run against a register model that consumes its command queue. Translations are
// checked with this file's own walk of the VMSAv8-64 stage-1 format (ARM ARM D8.3: 4 KiB
// granule, 9 bits a level from level 1 for a 39-bit input), not with the engine's.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "drivers/iommu/smmuv3.hpp"

namespace keel::iommu {
namespace {

TEST(SmmuDefs, StreamTableEntries) {
    const Ste s = make_ste_stage1(0x0000004012345640ull);
    // V [0] = 1, Config [3:1] = 0b101, S1Fmt [5:4] = 0, S1ContextPtr [51:6].
    EXPECT_EQ(s.dw[0], 0x000000401234564bull);
    // S1CIR [3:2] = 01, S1COR [5:4] = 01, S1CSH [7:6] = 11; STRW [31:30] = 00 (NS-EL1).
    EXPECT_EQ(s.dw[1], 0xd4ull);
    EXPECT_EQ(make_ste(SteConfig::Abort).dw[0], 0x1ull);
    EXPECT_EQ(make_ste(SteConfig::Bypass).dw[0], 0x9ull);
    EXPECT_EQ(Ste{}.dw[0] & 1, 0u) << "an invalid STE: abort with C_BAD_STE";
}

TEST(SmmuDefs, ContextDescriptor) {
    const Cd c = make_cd(0x0000000041234000ull, 0x0102, 4, 0xff04);
    const u64 d = c.dw[0];
    EXPECT_EQ(d & 0x3f, 25u) << "T0SZ";
    EXPECT_EQ((d >> 6) & 3, 0u) << "TG0 4 KiB";
    EXPECT_EQ((d >> 8) & 3, 1u) << "IR0 WB";
    EXPECT_EQ((d >> 10) & 3, 1u) << "OR0 WB";
    EXPECT_EQ((d >> 12) & 3, 3u) << "SH0 inner";
    EXPECT_EQ((d >> 14) & 1, 0u) << "EPD0 clear: TTB0 walks";
    EXPECT_EQ((d >> 22) & 3, 2u) << "TG1 4 KiB (coding 10)";
    EXPECT_EQ((d >> 30) & 1, 1u) << "EPD1";
    EXPECT_EQ((d >> 31) & 1, 1u) << "V";
    EXPECT_EQ((d >> 32) & 7, 4u) << "IPS";
    EXPECT_EQ((d >> 41) & 1, 1u) << "AA64";
    EXPECT_EQ((d >> 44) & 1, 0u) << "S: no stall";
    EXPECT_EQ((d >> 45) & 1, 1u) << "R: record faults";
    EXPECT_EQ((d >> 46) & 1, 1u) << "A: abort";
    EXPECT_EQ(d >> 48, 0x0102u) << "ASID";
    EXPECT_EQ(c.dw[1], 0x0000000041234000ull) << "TTB0 [51:4]";
    EXPECT_EQ(c.dw[3], 0xff04ull) << "MAIR";
}

TEST(SmmuDefs, Commands) {
    EXPECT_EQ(cmd_cfgi_ste(0x1234).dw[0], 0x0000123400000003ull);
    EXPECT_EQ(cmd_cfgi_ste(0x1234).dw[1], 1u) << "Leaf";
    EXPECT_EQ(cmd_cfgi_all().dw[0], 0x04u);
    EXPECT_EQ(cmd_cfgi_all().dw[1], 31u) << "Range 31: every stream";
    EXPECT_EQ(cmd_tlbi_nh_asid(5).dw[0], 0x0005000000000011ull);
    EXPECT_EQ(cmd_simple(kOpTlbiNsnhAll).dw[0], 0x30u);
    EXPECT_EQ(cmd_sync().dw[0], 0x46u) << "CS = SIG_NONE";
}

TEST(SmmuDefs, EventRecords) {
    EventRecord r{};
    r.dw[0] = 0x0000000900000010ull; // F_TRANSLATION, StreamID 9
    r.dw[1] = 1ull << 35;            // RnW = 1: a read
    r.dw[2] = 0x7f000040;            // InputAddr
    Event e = decode_event(r);
    EXPECT_EQ(e.type, kEvtTranslation);
    EXPECT_EQ(e.sid, 9u);
    EXPECT_TRUE(e.read);
    EXPECT_EQ(e.address, 0x7f000040u);
    EXPECT_STREQ(event_name(kEvtBadSte), "C_BAD_STE");
    EXPECT_STREQ(event_name(0x7f), "?");
}

TEST(SmmuDefs, QueueIndexAndWrap) {
    // log2 = 2: index bits [1:0], wrap bit [2].
    EXPECT_TRUE(queue_empty(0b101, 0b101, 2));
    EXPECT_TRUE(queue_full(0b100, 0b000, 2));
    EXPECT_FALSE(queue_full(0b011, 0b000, 2));
    EXPECT_EQ(queue_next(0b011, 2), 0b100u) << "wrap toggles past the last entry";
    EXPECT_EQ(queue_next(0b111, 2), 0b000u);
}

// The registers of an SMMU that acknowledges CR0 writes and consumes its command queue
// on every CMDQ_PROD write, recording each command.
class FakeSmmu final : public Mmio {
public:
    std::vector<u32> regs = std::vector<u32>(kRegionSize / 4);
    std::vector<Cmd> seen;
    bool ack = true;
    bool refuse_commands = false;
    bool gbpa_stuck = false; // Update never completes
    u32 gbpa_writes = 0;

    FakeSmmu() {
        reg(kIdr0) = 0x0d40101a; // QEMU 7.2: S1P, TTF AArch64, COHACC, no S2P
        reg(kIdr1) = 16;         // SIDSIZE 16
        reg(kIdr5) = 0x54;       // GRAN4K, OAS 44 bits
    }
    u32& reg(u32 off) { return regs.at(off / 4); }
    u32 read32(u32 off) override { return reg(off); }
    void write32(u32 off, u32 v) override {
        reg(off) = v;
        if (off == kGbpa) {
            ++gbpa_writes;
            if (!gbpa_stuck) reg(off) = v & ~(1u << 31); // the update completes at once
        }
        if (off == kCr0 && ack) reg(kCr0Ack) = v;
        if (off == kCmdqProd) consume();
    }
    u64 reg64(u32 off) { return reg(off) | (static_cast<u64>(reg(off + 4)) << 32); }
    Ste& ste(u32 sid) {
        return reinterpret_cast<Ste*>(reg64(kStrtabBase) & 0x000fffffffffffc0ull)[sid];
    }
    EventRecord* evtq() {
        return reinterpret_cast<EventRecord*>(reg64(kEvtqBase) & 0x000fffffffffffe0ull);
    }

private:
    void consume() {
        const u32 log2 = reg64(kCmdqBase) & 0x1f;
        if (refuse_commands) {
            if (!queue_empty(reg(kCmdqProd), reg(kCmdqCons), log2)) reg(kGerror) ^= kGerrorCmdq;
            return;
        }
        auto* q = reinterpret_cast<Cmd*>(reg64(kCmdqBase) & 0x000fffffffffffe0ull);
        u32 cons = reg(kCmdqCons);
        while (!queue_empty(reg(kCmdqProd), cons, log2)) {
            seen.push_back(q[queue_index(cons, log2)]);
            cons = queue_next(cons, log2);
        }
        reg(kCmdqCons) = cons;
    }
};

// ARM ARM D8.3 walk: 39-bit input, levels 1..3, table descriptors 0b11 (levels 1-2),
// blocks 0b01 (levels 1-2), pages 0b11 (level 3), output address bits [47:12].
bool walk(u64 ttb0, u64 va, u64* pa, u64* leaf) {
    u64 table = ttb0;
    for (int level = 1; level <= 3; ++level) {
        const u32 shift = static_cast<u32>(12 + 9 * (3 - level));
        const u64 e = reinterpret_cast<const u64*>(table)[(va >> shift) & 511];
        if ((e & 1) == 0) return false;
        const u64 out = e & 0x0000fffffffff000ull;
        if (level == 3 || (e & 2) == 0) {
            if (level == 3 && (e & 2) == 0) return false; // reserved at level 3
            *pa = (out & ~((1ull << shift) - 1)) | (va & ((1ull << shift) - 1));
            *leaf = e;
            return true;
        }
        table = out;
    }
    return false;
}

struct SmmuFixture : ::testing::Test {
    std::unique_ptr<SmmuMemory> mem = std::make_unique<SmmuMemory>();
    std::unique_ptr<mm::TableStorage<64>> storage = std::make_unique<mm::TableStorage<64>>();
    mm::TablePool pool{*storage};
    Smmu smmu{*mem, pool};
    FakeSmmu hw;
};

TEST_F(SmmuFixture, InitProgramsTablesAndQueuesThenEnables) {
    ASSERT_EQ(smmu.init(hw), Status::Ok);
    EXPECT_EQ(hw.reg64(kStrtabBase) & 0x000fffffffffffc0ull, reinterpret_cast<u64>(mem->strtab));
    EXPECT_EQ(hw.reg(kStrtabBaseCfg), kStreamLog2) << "linear, 2^8 entries";
    EXPECT_EQ(hw.reg64(kCmdqBase) & 0x1f, kCmdqLog2);
    EXPECT_EQ(hw.reg(kCr0), 0xdu) << "SMMUEN | EVTQEN | CMDQEN";
    EXPECT_EQ(hw.reg(kCr2) & 2u, 2u) << "RECINVSID";
    EXPECT_EQ(hw.gbpa_writes, 1u);
    EXPECT_EQ(hw.reg(kGbpa), 1u << 20) << "GBPA.ABORT, written with Update (then complete)";
    ASSERT_EQ(hw.seen.size(), 4u);
    EXPECT_EQ(hw.seen[0].dw[0] & 0xff, kOpCfgiAll);
    EXPECT_EQ(hw.seen[1].dw[0] & 0xff, kOpTlbiNsnhAll);
    EXPECT_EQ(hw.seen[2].dw[0] & 0xff, kOpTlbiEl2All);
    EXPECT_EQ(hw.seen[3].dw[0] & 0xff, kOpSync);
    for (u32 sid = 0; sid < 256; ++sid)
        ASSERT_EQ(hw.ste(sid).dw[0], 0u) << "every stream aborts until attached";
}

TEST_F(SmmuFixture, RefusesWhatItCannotDrive) {
    hw.reg(kIdr0) = 0x0d401019; // S2P only
    EXPECT_EQ(smmu.init(hw), Status::Unsupported);
    EXPECT_FALSE(smmu.ready());
    hw.reg(kIdr0) = 0x0d40101a;
    hw.gbpa_stuck = true;
    EXPECT_EQ(smmu.init(hw), Status::Timeout) << "GBPA update never completed";
    EXPECT_EQ(hw.reg(kCr0), 0u) << "nothing else written";
    hw.gbpa_stuck = false;
    hw.ack = false;
    hw.reg(kCr0Ack) = 1; // stuck enabled
    EXPECT_EQ(smmu.init(hw), Status::Timeout);
    hw.ack = true;
    hw.refuse_commands = true;
    EXPECT_EQ(smmu.init(hw), Status::HardwareFault) << "GERROR.CMDQ_ERR";
    EXPECT_EQ(smmu.attach(9, nullptr, 0), Status::BadState);
}

TEST_F(SmmuFixture, AttachTranslatesExactlyTheMappedRanges) {
    ASSERT_EQ(smmu.init(hw), Status::Ok);
    hw.seen.clear();
    const DmaMap maps[] = {{IoVirt(0x40000000), PhysAddr(0x48000000), 4 * MiB, true},
                           {IoVirt(0x40800000), PhysAddr(0x49000000), 4096, false}};
    ASSERT_EQ(smmu.attach(9, maps, 2), Status::Ok);
    const Ste& s = hw.ste(9);
    EXPECT_EQ(s.dw[0] & 0xf, 0xbu) << "valid, stage-1 translate";
    const auto* cd = reinterpret_cast<const Cd*>(s.dw[0] & 0x000fffffffffffc0ull);
    EXPECT_EQ((cd->dw[0] >> 31) & 1, 1u);
    EXPECT_EQ(cd->dw[0] & 0x3f, 25u);
    const u64 ttb0 = cd->dw[1] & 0x000ffffffffffff0ull;
    u64 pa = 0, leaf = 0;
    ASSERT_TRUE(walk(ttb0, 0x40001234, &pa, &leaf));
    EXPECT_EQ(pa, 0x48001234u);
    EXPECT_EQ(leaf & (1ull << 7), 0u) << "writable";
    EXPECT_NE(leaf & (1ull << 6), 0u) << "AP[1]: unprivileged DMA allowed";
    ASSERT_TRUE(walk(ttb0, 0x403ffffc, &pa, &leaf));
    EXPECT_EQ(pa, 0x483ffffcu);
    ASSERT_TRUE(walk(ttb0, 0x40800010, &pa, &leaf));
    EXPECT_EQ(pa, 0x49000010u);
    EXPECT_NE(leaf & (1ull << 7), 0u) << "read-only range: AP[2]";
    EXPECT_FALSE(walk(ttb0, 0x40400000, &pa, &leaf)) << "just past the first range";
    EXPECT_FALSE(walk(ttb0, 0x7f000000, &pa, &leaf));
    EXPECT_FALSE(walk(ttb0, 0x48000000, &pa, &leaf)) << "the PA itself is no IOVA";
    ASSERT_EQ(hw.seen.size(), 3u);
    EXPECT_EQ(hw.seen[0].dw[0], 0x0000000900000003ull) << "CFGI_STE 9";
    EXPECT_EQ(hw.seen[1].dw[0] & 0xff, kOpTlbiNhAsid);
    EXPECT_EQ(hw.seen[2].dw[0] & 0xff, kOpSync);
    EXPECT_EQ(hw.ste(10).dw[0], 0u) << "a neighbour stream stays invalid";
}

TEST_F(SmmuFixture, BadAttachesChangeNothing) {
    ASSERT_EQ(smmu.init(hw), Status::Ok);
    const DmaMap m{IoVirt(0x40000000), PhysAddr(0x48000000), 4096, true};
    EXPECT_EQ(smmu.attach(256, &m, 1), Status::OutOfRange) << "past the stream table";
    ASSERT_EQ(smmu.attach(9, &m, 1), Status::Ok);
    const Ste before = hw.ste(9);
    EXPECT_EQ(smmu.attach(9, &m, 1), Status::AlreadyExists);
    EXPECT_EQ(hw.ste(9).dw[0], before.dw[0]);
    const DmaMap bad{IoVirt(1ull << 39), PhysAddr(0x48000000), 4096, true};
    EXPECT_EQ(smmu.attach(10, &bad, 1), Status::OutOfRange) << "IOVA past 39 bits";
    EXPECT_EQ(hw.ste(10).dw[0], 0u);
    for (u32 sid = 20; sid < 20 + kMaxDomains - 1; ++sid)
        ASSERT_EQ(smmu.attach(sid, &m, 1), Status::Ok);
    EXPECT_EQ(smmu.attach(100, &m, 1), Status::NoMemory) << "out of domains";
}

TEST_F(SmmuFixture, DetachAbortsAgainAndFreesTables) {
    ASSERT_EQ(smmu.init(hw), Status::Ok);
    const DmaMap m{IoVirt(0x40000000), PhysAddr(0x48000000), 4096, true};
    ASSERT_EQ(smmu.attach(9, &m, 1), Status::Ok);
    hw.seen.clear();
    ASSERT_EQ(smmu.detach(9), Status::Ok);
    EXPECT_EQ(hw.ste(9).dw[0], 0u);
    ASSERT_EQ(hw.seen.size(), 3u);
    EXPECT_EQ(hw.seen[0].dw[0], 0x0000000900000003ull);
    EXPECT_EQ(smmu.detach(9), Status::NotFound);
    // Every table page comes back: 40 rounds of 3 tables each need far more than the
    // pool's 64 pages unless detach frees them.
    for (u32 round = 0; round < 40; ++round) {
        ASSERT_EQ(smmu.attach(9, &m, 1), Status::Ok) << round;
        ASSERT_EQ(smmu.detach(9), Status::Ok) << round;
    }
}

// A live update's incoming image (docs/handover.md §2.2 Io): its own Smmu object and pool
// flags over the same structures and table pages, which it takes over without writing a
// register or issuing a command; then it drives the streams as the one that built them.
TEST_F(SmmuFixture, AnIncomingImageAdoptsTheStreamsWhereTheyAre) {
    ASSERT_EQ(smmu.init(hw), Status::Ok);
    const DmaMap a{IoVirt(0x40000000), PhysAddr(0x48000000), 4 * MiB, true};
    const DmaMap b{IoVirt(0x40000000), PhysAddr(0x50000000), 2 * MiB, true};
    ASSERT_EQ(smmu.attach(9, &a, 1), Status::Ok);
    ASSERT_EQ(smmu.attach(17, &b, 1), Status::Ok);
    const u32 pages = pool.in_use();
    bool used[64] = {};
    mm::TablePool next_pool(storage->pages, used);
    Smmu next(*mem, next_pool);
    hw.seen.clear();
    const std::vector<u32> regs = hw.regs;
    ASSERT_EQ(next.adopt(hw), Status::Ok);
    EXPECT_TRUE(next.ready());
    EXPECT_EQ(hw.regs, regs) << "no register written";
    EXPECT_TRUE(hw.seen.empty()) << "no command issued";
    EXPECT_EQ(next.streams(), 2u);
    EXPECT_EQ(next_pool.in_use(), pages) << "every table page of both trees claimed";
    EXPECT_EQ(next.attach(9, &a, 1), Status::AlreadyExists) << "stream 9 is its own now";
    ASSERT_EQ(next.detach(9), Status::Ok);
    EXPECT_EQ(hw.ste(9).dw[0], 0u);
    ASSERT_EQ(hw.seen.size(), 3u);
    EXPECT_EQ(hw.seen[0].dw[0], 0x0000000900000003ull) << "CFGI_STE 9";
    EXPECT_EQ(hw.seen[1].dw[0], 0x0001000000000011ull) << "TLBI_NH_ASID of the CD it used";
    EXPECT_LT(next_pool.in_use(), pages) << "its tables back in the pool";
    // A new stream gets fresh pages: stream 17's translation is untouched.
    const DmaMap c{IoVirt(0x40000000), PhysAddr(0x60000000), 2 * MiB, true};
    ASSERT_EQ(next.attach(10, &c, 1), Status::Ok);
    u64 pa = 0, leaf = 0;
    const auto* cd = reinterpret_cast<const Cd*>(hw.ste(17).dw[0] & 0x000fffffffffffc0ull);
    ASSERT_TRUE(walk(cd->dw[1] & 0x000ffffffffffff0ull, 0x40001000, &pa, &leaf));
    EXPECT_EQ(pa, 0x50001000u);
    cd = reinterpret_cast<const Cd*>(hw.ste(10).dw[0] & 0x000fffffffffffc0ull);
    ASSERT_TRUE(walk(cd->dw[1] & 0x000ffffffffffff0ull, 0x40001000, &pa, &leaf));
    EXPECT_EQ(pa, 0x60001000u);
}

TEST_F(SmmuFixture, AdoptionRefusesWhatTheSmmuDoesNotMatch) {
    ASSERT_EQ(smmu.init(hw), Status::Ok);
    const DmaMap a{IoVirt(0x40000000), PhysAddr(0x48000000), 4 * MiB, true};
    ASSERT_EQ(smmu.attach(9, &a, 1), Status::Ok);
    {
        auto other = std::make_unique<SmmuMemory>();
        bool used[64] = {};
        mm::TablePool p(storage->pages, used);
        Smmu s(*other, p);
        EXPECT_EQ(s.adopt(hw), Status::Corrupt) << "the registers name other structures";
        EXPECT_FALSE(s.ready());
    }
    {
        auto elsewhere = std::make_unique<mm::TableStorage<64>>();
        mm::TablePool p(*elsewhere);
        Smmu s(*mem, p);
        EXPECT_EQ(s.adopt(hw), Status::Corrupt) << "a stream's tables outside the pool";
    }
    {
        bool used[64] = {};
        mm::TablePool p(storage->pages, used);
        Smmu s(*mem, p);
        const u32 prod = hw.reg(kCmdqProd);
        hw.reg(kCmdqProd) = queue_next(prod, kCmdqLog2);
        EXPECT_EQ(s.adopt(hw), Status::Corrupt) << "a command not consumed";
        hw.reg(kCmdqProd) = prod;
        hw.reg(kCr0) = 0;
        EXPECT_EQ(s.adopt(hw), Status::Corrupt) << "translation off";
        hw.reg(kCr0) = 0xd;
        mem->cds[0].dw[0] ^= 1ull << 48; // another ASID than its slot's
        EXPECT_EQ(s.adopt(hw), Status::Corrupt) << "a CD this driver would not have written";
        mem->cds[0].dw[0] ^= 1ull << 48;
        EXPECT_EQ(s.adopt(hw), Status::Ok) << "and as it was, it is taken";
    }
}

class Collect final : public EventSink {
public:
    std::vector<Event> got;
    void event(const Event& e) override { got.push_back(e); }
};

TEST_F(SmmuFixture, EventsAreDrainedInOrderAndOverflowAcknowledged) {
    ASSERT_EQ(smmu.init(hw), Status::Ok);
    EventRecord* q = hw.evtq();
    q[0].dw[0] = 0x0000000900000010ull, q[0].dw[2] = 0x7f000000;
    q[1].dw[0] = 0x0000000a00000004ull;
    hw.reg(kEvtqProd) = 2 | kQueueOverflow;
    Collect c;
    bool lost = false;
    EXPECT_EQ(smmu.drain_events(c, &lost), 2u);
    ASSERT_EQ(c.got.size(), 2u);
    EXPECT_EQ(c.got[0].type, kEvtTranslation);
    EXPECT_EQ(c.got[0].sid, 9u);
    EXPECT_EQ(c.got[0].address, 0x7f000000u);
    EXPECT_EQ(c.got[1].type, kEvtBadSte);
    EXPECT_EQ(c.got[1].sid, 0xau);
    EXPECT_TRUE(lost);
    EXPECT_EQ(hw.reg(kEvtqCons), 2u | kQueueOverflow) << "consumed, overflow acknowledged";
    EXPECT_EQ(smmu.drain_events(c, &lost), 0u);
    EXPECT_FALSE(lost);
}

} // namespace
} // namespace keel::iommu
