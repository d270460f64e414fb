// A live update's incoming image takes a VT-d unit over from the memory the outgoing one left
// (iommu::Vtd::adopt, docs/handover.md §4 step 4, §5.1), run against the unit model of
// vtd_model.hpp (VT-d spec 9.1, 9.3, 9.10, 11.4).
#include <gtest/gtest.h>

#include "vtd_model.hpp"

namespace keel::iommu {
namespace {

using namespace vtd;
using namespace model;

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
