// The incoming image's pool from the handover record's PoolRuns (docs/handover.md §2.2
// PoolRuns, §4 step 4). The machine below is written out from the record format: 1 GiB of
// RAM at 0x40000000 holding the old image (an unaligned span, owner 0xffffffff), the 4 MiB
// update region the new image runs from, two VMs' RAM (owners 1 and 2) and two free runs.
// The adopted pool must have exactly those free bytes, never hand out a byte in use, and
// every broken rule must be refused with the pool unchanged.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "hypervisor/update/adopt_pool.hpp"

namespace keel::update {
namespace {

struct NoScrub final : mm::Scrubber {
    void zero(PhysAddr, u64) override {}
};

struct Buf {
    std::vector<u64> words = std::vector<u64>(8192, 0);
    u8* data() { return reinterpret_cast<u8*>(words.data()); }
};

constexpr u64 kImage = 0x40200000, kImageSpan = 0x180000; // 1.5 MiB, not whole blocks
constexpr u64 kRegion = 0x40400000, kRegionSize = 4 * MiB;
constexpr u64 kVm1 = 0x40800000, kVm1Size = 128 * MiB;
constexpr u64 kVm2 = 0x48800000, kVm2Size = 256 * MiB;
constexpr u64 kFreeHigh = 0x58800000, kFreeHighSize = 0x80000000 - 0x58800000;
constexpr mm::Span kSelf{kRegion, 0x180000}; // the run slot: the region's first 2 MiB

struct Machine {
    std::vector<PoolRun> runs = {{kImage, kImageSpan, kOwnerHypervisor, 0},
                                 {kRegion, kRegionSize, kOwnerHypervisor, 0},
                                 {kVm1, kVm1Size, 1, 0},
                                 {kVm2, kVm2Size, 2, 0},
                                 {0x40000000, 2 * MiB, kOwnerFree, 0},
                                 {kFreeHigh, kFreeHighSize, kOwnerFree, 0}};
    u64 vm_base[2] = {kVm1, kVm2};
    u64 vm_size[2] = {kVm1Size, kVm2Size};
};

// A complete record set (§2.3) around the machine's pool: the parser must accept it, so
// what adopt_pool refuses is its own rule.
Status write_and_parse(const Machine& m, Buf& b, HandoverView& v) {
    HandoverWriter w(b.data(), 8192 * 8, 1);
    OldImageRecord old{};
    old.base = kImage;
    old.span = kImageSpan;
    old.update_region = kRegion;
    old.update_region_size = kRegionSize;
    strcpy(old.version, "0.1.0");
    EXPECT_EQ(w.add(RecordType::OldImage, old), Status::Ok);
    for (u32 id = 1; id <= 2; ++id) {
        VmRecord r{};
        r.id = id;
        r.state = 3;
        r.cpu_mask = 1ull << id;
        r.mem_base = m.vm_base[id - 1];
        r.mem_size = m.vm_size[id - 1];
        r.first_cpu = id;
        r.vcpu_count = 1;
        EXPECT_EQ(w.add(RecordType::Vm, r), Status::Ok);
        EXPECT_EQ(w.add(RecordType::Stage2, Stage2Record{id, id, 0x40201000, 0, 0x40000000}),
                  Status::Ok);
        VgicDistRecord d{};
        d.vm_id = id;
        EXPECT_EQ(w.add(RecordType::VgicDist, d), Status::Ok);
        ConsoleRecord c{};
        c.vm_id = id;
        EXPECT_EQ(w.add(RecordType::Console, c), Status::Ok);
        VmDevicesRecord dev{};
        dev.vm_id = id;
        EXPECT_EQ(w.add(RecordType::VmDevices, dev), Status::Ok);
        MailboxVmRecord mv{};
        mv.vm_id = id;
        EXPECT_EQ(w.add(RecordType::MailboxVm, mv), Status::Ok);
        VcpuRecord vc{};
        vc.vm_id = id;
        vc.core = id;
        vc.on = 1;
        EXPECT_EQ(w.add(RecordType::Vcpu, vc), Status::Ok);
    }
    EXPECT_EQ(w.add(RecordType::Mailbox, MailboxRecord{}), Status::Ok);
    EXPECT_EQ(w.add_pool(m.runs.data(), static_cast<u32>(m.runs.size())), Status::Ok);
    Result<u64> n = w.seal();
    if (!n.ok()) return n.status();
    return parse_handover(b.data(), n.value(), kHandoverAbiMin, kHandoverAbi, v);
}

class AdoptPool : public ::testing::Test {
protected:
    NoScrub scrub;
    mm::FramePool pool{scrub};
    Buf buf;
    HandoverView view;
    PoolAdoption out;
    const char* why = nullptr;

    Status adopt(const Machine& m, mm::Span self = kSelf) {
        EXPECT_EQ(write_and_parse(m, buf, view), Status::Ok);
        return adopt_pool(view, self, pool, out, &why);
    }
    // A pool that exists before a refused adoption: it must come through unchanged.
    void prior_pool() {
        ASSERT_EQ(pool.add_region(PhysAddr(0x100000000ull), 64 * MiB), Status::Ok);
        ASSERT_TRUE(pool.alloc(4 * MiB, 5).ok());
    }
    void expect_prior_pool_unchanged() {
        EXPECT_EQ(pool.free_bytes(), 60 * MiB);
        EXPECT_EQ(pool.owner_of(PhysAddr(0x100000000ull)), 5);
        EXPECT_EQ(pool.total_bytes(), 64 * MiB) << "no region of the record added";
    }
    void expect_refused(const Machine& m, const char* rule, mm::Span self = kSelf) {
        prior_pool();
        why = nullptr;
        EXPECT_EQ(adopt(m, self), Status::Corrupt);
        ASSERT_NE(why, nullptr);
        EXPECT_STREQ(why, rule);
        expect_prior_pool_unchanged();
    }
};

TEST_F(AdoptPool, TheRecordsRunsBecomeThePool) {
    ASSERT_EQ(adopt(Machine{}), Status::Ok) << why;
    EXPECT_EQ(out.runs, 6u);
    EXPECT_EQ(out.regions, 1u) << "the runs tile 1 GiB without a hole";
    EXPECT_EQ(out.free_bytes, 2 * MiB + kFreeHighSize);
    EXPECT_EQ(out.vm_bytes, kVm1Size + kVm2Size);
    EXPECT_EQ(out.hypervisor_bytes, 2 * MiB + kRegionSize) << "the image rounded out to a block";
    EXPECT_EQ(pool.total_bytes(), GiB);
    EXPECT_EQ(pool.free_bytes(), 2 * MiB + kFreeHighSize);
    EXPECT_EQ(pool.owner_of(PhysAddr(kVm1)), 1);
    EXPECT_EQ(pool.owner_of(PhysAddr(kVm1 + kVm1Size - 1)), 1);
    EXPECT_EQ(pool.owner_of(PhysAddr(kVm2 + 100 * MiB)), 2);
    EXPECT_EQ(pool.owner_of(PhysAddr(kImage + kImageSpan - 1)), mm::kOwnerHypervisor);
    EXPECT_EQ(pool.owner_of(PhysAddr(kRegion + 3 * MiB)), mm::kOwnerHypervisor);
    EXPECT_EQ(pool.owned_bytes(1), kVm1Size);
    EXPECT_EQ(pool.owned_bytes(2), kVm2Size);
}

TEST_F(AdoptPool, NothingInUseIsEverAllocated) {
    ASSERT_EQ(adopt(Machine{}), Status::Ok) << why;
    u64 got = 0;
    for (;;) {
        Result<PhysAddr> a = pool.alloc(2 * MiB, 7, mm::Zeroing::ByOwner);
        if (!a.ok()) break;
        const u64 pa = a.value().raw();
        const bool in_free = pa == 0x40000000 || (pa >= kFreeHigh && pa < 0x80000000);
        EXPECT_TRUE(in_free) << std::hex << pa;
        got += 2 * MiB;
    }
    EXPECT_EQ(got, 2 * MiB + kFreeHighSize);
    EXPECT_EQ(pool.owned_bytes(1), kVm1Size) << "the VMs keep their RAM";
}

TEST_F(AdoptPool, RunsInAnyOrder) {
    Machine m;
    std::reverse(m.runs.begin(), m.runs.end());
    ASSERT_EQ(adopt(m), Status::Ok) << why;
    EXPECT_EQ(pool.free_bytes(), 2 * MiB + kFreeHighSize);
    EXPECT_EQ(out.regions, 1u);
}

TEST_F(AdoptPool, AHoleBetweenRunsIsNotPoolMemory) {
    Machine m;
    m.runs.back().size -= 64 * MiB; // the top 64 MiB (firmware, say) named by no run
    ASSERT_EQ(adopt(m), Status::Ok) << why;
    EXPECT_EQ(pool.total_bytes(), GiB - 64 * MiB);
    EXPECT_EQ(pool.owner_of(PhysAddr(0x80000000 - 2 * MiB)), mm::kOwnerHypervisor)
        << "outside every region (owner_of's answer for that)";
}

TEST_F(AdoptPool, RefusesOverlappingRuns) {
    Machine m;
    m.runs[5].base -= 2 * MiB; // the free run now starts inside VM 2's RAM
    m.runs[5].size += 2 * MiB;
    expect_refused(m, "two pool runs overlap");
}

TEST_F(AdoptPool, RefusesAFreeRunOverlappingTheImagesBlock) {
    Machine m;
    m.runs[4].size = 4 * MiB; // 0x40000000..0x40400000 covers the image's block
    expect_refused(m, "two pool runs overlap");
}

TEST_F(AdoptPool, RefusesARunNotInWholeBlocks) {
    Machine m;
    m.runs[5].size -= 4096;
    expect_refused(m, "a VM's or a free pool run is not in whole 2 MiB blocks");
}

TEST_F(AdoptPool, RefusesAVmRunThatIsNotItsRam) {
    Machine m;
    m.vm_size[1] = 128 * MiB; // the Vm record says 128 MiB, its run 256 MiB
    expect_refused(m, "a VM's pool run is not its recorded RAM");
}

TEST_F(AdoptPool, RefusesAVmWithoutItsRun) {
    Machine m;
    m.runs[3].owner = kOwnerFree; // VM 2's RAM listed as free: it would be handed out
    expect_refused(m, "a VM's RAM has no pool run (or two)");
}

TEST_F(AdoptPool, RefusesARunOfAVmTheRecordHasNot) {
    Machine m;
    m.runs[4].owner = 3;
    expect_refused(m, "a pool run names a VM the record has not");
}

TEST_F(AdoptPool, RefusesAnImageRunningOutsideTheHypervisorsRuns) {
    expect_refused(Machine{}, "this image does not run inside a hypervisor run",
                   mm::Span{kFreeHigh, 0x180000});
}

TEST_F(AdoptPool, RefusesAnImageHalfOutsideTheUpdateRegion) {
    expect_refused(Machine{}, "this image does not run inside a hypervisor run",
                   mm::Span{kRegion + kRegionSize - MiB, 2 * MiB});
}

} // namespace
} // namespace keel::update
