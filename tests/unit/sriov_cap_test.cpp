// SR-IOV capability (drivers/sriov/sriov_cap.cpp) and the VF table (vf_table.cpp)
// against a PF whose config space is a 4 KiB image laid out by hand from PCI Express Base
// 6.0 §7.6.3 (extended capability header) and §9.3.3 (SR-IOV capability, Figure 9-12):
// every offset and expected value below comes from the spec's layout, not from the code.
#include <gtest/gtest.h>

#include <cstring>

#include "drivers/sriov/sriov_cap.hpp"
#include "drivers/sriov/vf_table.hpp"

namespace keel::sriov {
namespace {

using pci::Bar;
using pci::Bdf;

// PF at 00:04.0 (routing ID 0x0020). Extended capabilities: AER (ID 0x0001) at 0x100
// pointing to SR-IOV (ID 0x0010, version 1) at 0x160. The device reports First VF Offset
// 1 / Stride 1 without ARI and 0x60 / 2 with ARI Capable Hierarchy set (as a device may:
// §9.3.3.9 lets both depend on ARI and NumVFs). VF BAR0: 64-bit, 16 KiB per VF;
// VF BAR2: 32-bit prefetchable, 4 KiB per VF.
class SriovPf final : public pci::ConfigAccess {
public:
    static constexpr u32 kCap = 0x160;
    u8 cfg[4096] = {};
    Bdf at{0, 4, 0};
    u32 config_writes_to_vfs = 0;

    SriovPf() {
        put(0x00, 0x58451b36);                           // vendor/device
        put(0x100, 0x0001u | (1u << 16) | (kCap << 20)); // AER v1, next = 0x160
        put(kCap + 0x00, 0x0010u | (1u << 16));          // SR-IOV v1, end of chain
        put(kCap + 0x0c, 4u | (7u << 16));               // InitialVFs 4, TotalVFs 7
        put(kCap + 0x18, 0x0010u << 16);                 // VF Device ID 0x0010
        put(kCap + 0x1c, 0x553);                         // supported page sizes
        put(kCap + 0x24, 0x4);                           // VF BAR0: 64-bit memory
        put(kCap + 0x2c, 0x8);                           // VF BAR2: 32-bit prefetchable
        update_routing();
    }
    void put(u32 off, u32 v) { std::memcpy(cfg + off, &v, 4); }
    [[nodiscard]] u32 get(u32 off) const {
        u32 v;
        std::memcpy(&v, cfg + off, 4);
        return v;
    }
    [[nodiscard]] u16 control() const { return static_cast<u16>(get(kCap + 0x08)); }
    void update_routing() {
        const bool ari = control() & (1u << 4);
        put(kCap + 0x14, ari ? (0x60u | (2u << 16)) : (1u | (1u << 16)));
    }

    u32 read32(Bdf f, u32 off) override {
        if (f.bus != at.bus || f.dev != at.dev || f.fn != at.fn) return 0xffffffffu;
        return get(off);
    }
    void write32(Bdf f, u32 off, u32 v) override {
        if (f.bus != at.bus || f.dev != at.dev || f.fn != at.fn) {
            ++config_writes_to_vfs;
            return;
        }
        const bool enabled = control() & 1u;
        if (off == kCap + 0x08) {
            put(off, (get(off) & 0xffff0000u) | (v & 0x1fu)); // VFE, migration, MSE, ARI
            if (!enabled) update_routing();
        } else if (off == kCap + 0x10) {
            if (!enabled) put(off, (get(off) & 0xffff0000u) | (v & 0xffffu)); // RO while enabled
        } else if (off == kCap + 0x24) {
            put(off, (v & ~(16u * 1024 - 1)) | 0x4);
        } else if (off == kCap + 0x28) {
            put(off, v);
        } else if (off == kCap + 0x2c) {
            put(off, (v & ~(4u * 1024 - 1)) | 0x8);
        }
    }
};

// NumVFs set and the VF BARs sized: the common start of the BAR tests.
Capability with_vfs(SriovPf& pf, u16 n, Bar (&bars)[6]) {
    Capability c = read_capability(pf, pf.at).value();
    EXPECT_EQ(set_num_vfs(pf, pf.at, c, n, false), Status::Ok);
    EXPECT_EQ(size_vf_bars(pf, pf.at, c, bars), Status::Ok);
    return c;
}

Status place_in_window(Bar (&bars)[6], u16 n, u64 window_size) {
    pci::Window w{0x10000000, window_size, false};
    pci::PlaceConstraints pc;
    pc.windows = &w;
    pc.window_count = 1;
    return place_vf_bars(bars, n, pc);
}

TEST(SriovCap, FindsTheCapabilityThroughTheChain) {
    SriovPf pf;
    Result<u32> at = find_ext_cap(pf, pf.at, kExtCapIdSriov);
    ASSERT_TRUE(at.ok());
    EXPECT_EQ(at.value(), 0x160u);
    EXPECT_EQ(find_ext_cap(pf, pf.at, 0x000e).status(), Status::NotFound) << "no ARI capability";
    Result<Capability> c = read_capability(pf, pf.at);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c.value().initial_vfs, 4);
    EXPECT_EQ(c.value().total_vfs, 7);
    EXPECT_EQ(c.value().num_vfs, 0);
    EXPECT_EQ(c.value().vf_device, 0x10);
    EXPECT_EQ(c.value().page_sizes, 0x553u);
}

TEST(SriovCap, LoopingOrMissingChainsAreRefused) {
    SriovPf pf;
    pf.put(0x100, 0x0001u | (0x100u << 20)); // points at itself
    EXPECT_EQ(find_ext_cap(pf, pf.at, kExtCapIdSriov).status(), Status::Corrupt);
    pf.put(0x100, 0x0001u | (0x0c0u << 20)); // into the legacy header
    EXPECT_EQ(find_ext_cap(pf, pf.at, kExtCapIdSriov).status(), Status::Corrupt);
    pf.put(0x100, 0);
    EXPECT_EQ(read_capability(pf, pf.at).status(), Status::NotFound);
    EXPECT_EQ(read_capability(pf, Bdf{0, 9, 0}).status(), Status::NotFound) << "no device";
}

TEST(SriovCap, NumVfsThenOffsetAndStrideGiveTheVfRoutingIds) {
    SriovPf pf;
    Capability c = read_capability(pf, pf.at).value();
    ASSERT_EQ(set_num_vfs(pf, pf.at, c, 7, false), Status::Ok);
    EXPECT_EQ(pf.get(0x160 + 0x10) & 0xffff, 7u) << "NumVFs register";
    EXPECT_EQ(c.first_offset, 1);
    EXPECT_EQ(c.stride, 1);
    // RID 0x20 + 1 + i: 00:04.1 .. 00:04.7.
    Bdf v0 = vf_bdf(pf.at, c, 0, 0).value();
    EXPECT_EQ(v0.dev, 4);
    EXPECT_EQ(v0.fn, 1);
    Bdf v6 = vf_bdf(pf.at, c, 6, 0).value();
    EXPECT_EQ(v6.dev, 4);
    EXPECT_EQ(v6.fn, 7);
    EXPECT_EQ(vf_bdf(pf.at, c, 7, 0).status(), Status::OutOfRange) << "only NumVFs VFs";
    // A PF at 00:04.4 (RID 0x24): VF 3 is RID 0x28, 00:05.0 (the function number carries).
    Bdf v3 = vf_bdf(Bdf{0, 4, 4}, c, 3, 0).value();
    EXPECT_EQ(v3.dev, 5);
    EXPECT_EQ(v3.fn, 0);
}

TEST(SriovCap, AriChangesOffsetAndStrideAndVfsCanLeaveTheBus) {
    SriovPf pf;
    pf.at = Bdf{0, 31, 0}; // RID 0x00f8
    Capability c = read_capability(pf, pf.at).value();
    ASSERT_EQ(set_num_vfs(pf, pf.at, c, 3, true), Status::Ok);
    EXPECT_TRUE(pf.control() & (1u << 4)) << "ARI Capable Hierarchy set";
    EXPECT_EQ(c.first_offset, 0x60);
    EXPECT_EQ(c.stride, 2);
    // 0xf8 + 0x60 = 0x158: bus 1, device 11, function 0; then 0x15a, 0x15c.
    EXPECT_EQ(vf_bdf(pf.at, c, 0, 0).status(), Status::OutOfRange) << "bus 1 past last bus 0";
    Bdf v2 = vf_bdf(pf.at, c, 2, 1).value();
    EXPECT_EQ(v2.bus, 1);
    EXPECT_EQ(v2.dev, 11);
    EXPECT_EQ(v2.fn, 4);
}

TEST(SriovCap, BadCountsAndEnabledVfsChangeNothing) {
    SriovPf pf;
    Capability c = read_capability(pf, pf.at).value();
    EXPECT_EQ(set_num_vfs(pf, pf.at, c, 8, false), Status::InvalidArgument) << "TotalVFs is 7";
    EXPECT_EQ(pf.get(0x170) & 0xffff, 0u);
    Bar bars[6];
    c = with_vfs(pf, 2, bars);
    ASSERT_EQ(enable_vfs(pf, pf.at, c, bars), Status::Ok);
    EXPECT_EQ(set_num_vfs(pf, pf.at, c, 3, false), Status::BadState);
    EXPECT_EQ(pf.get(0x170) & 0xffff, 2u);
    EXPECT_EQ(size_vf_bars(pf, pf.at, c, bars), Status::BadState) << "no probing while enabled";
}

TEST(SriovCap, ZeroStrideIsRefused) {
    SriovPf pf;
    Capability c = read_capability(pf, pf.at).value();
    pf.put(0x160 + 0x14, 1); // offset 1, stride 0: every VF on one routing ID
    class Frozen final : public pci::ConfigAccess {
    public:
        explicit Frozen(SriovPf& p) : p_(p) {}
        u32 read32(Bdf f, u32 o) override { return p_.read32(f, o); }
        void write32(Bdf f, u32 o, u32 v) override {
            if (o != 0x160 + 0x08) p_.write32(f, o, v); // control writes do not recompute
        }

    private:
        SriovPf& p_;
    } frozen(pf);
    EXPECT_EQ(set_num_vfs(frozen, pf.at, c, 2, false), Status::Corrupt);
}

TEST(SriovCap, VfBarsSizedPlacedAndProgrammed) {
    SriovPf pf;
    Bar bars[6];
    const Capability c = with_vfs(pf, 3, bars);
    EXPECT_TRUE(bars[0].present && bars[0].is64);
    EXPECT_EQ(bars[0].size, 16 * KiB);
    EXPECT_FALSE(bars[1].present);
    EXPECT_TRUE(bars[2].present && bars[2].prefetchable && !bars[2].is64);
    EXPECT_EQ(bars[2].size, 4 * KiB);
    ASSERT_EQ(place_in_window(bars, c.num_vfs, 0x20000), Status::Ok);
    // Largest aperture first: BAR0 holds 3 VFs x 16 KiB (reserved for 4) at the window
    // base, BAR2's 3 x 4 KiB (reserved 16 KiB) right after it.
    EXPECT_EQ(bars[0].addr, 0x10000000u);
    EXPECT_EQ(bars[2].addr, 0x10010000u);
    EXPECT_EQ(vf_bar_addr(bars[0], 2), 0x10008000u);
    ASSERT_EQ(enable_vfs(pf, pf.at, c, bars), Status::Ok);
    EXPECT_EQ(pf.get(0x160 + 0x24), 0x10000004u) << "VF BAR0 low, type bits kept";
    EXPECT_EQ(pf.get(0x160 + 0x28), 0u) << "VF BAR0 high";
    EXPECT_EQ(pf.get(0x160 + 0x2c), 0x10010008u);
    EXPECT_EQ(pf.control() & 0x9u, 0x9u) << "VF MSE and VF Enable";
    EXPECT_EQ(pf.config_writes_to_vfs, 0u);
}

TEST(SriovCap, VfBarsThatDoNotFitAreRefused) {
    SriovPf pf;
    Bar bars[6];
    const Capability c = with_vfs(pf, 7, bars);
    // 64 KiB: 8 x 16 KiB does not fit.
    EXPECT_EQ(place_in_window(bars, c.num_vfs, 0x10000), Status::NoMemory);
    EXPECT_EQ(bars[0].size, 16 * KiB) << "sizes stay per VF";
}

TEST(VfTable, RecordsEveryVfWithItsBarsAndOwnershipRules) {
    SriovPf pf;
    Bar bars[6];
    const Capability c = with_vfs(pf, 2, bars);
    bars[0].addr = 0x10000000;
    bars[2].addr = 0x10010000;
    VfTable t;
    ASSERT_EQ(t.add_pf(pf.at, c, bars, 0), Status::Ok);
    ASSERT_EQ(t.count(), 2u);
    EXPECT_EQ(t.at(1).bdf.fn, 2);
    EXPECT_EQ(t.at(1).bar[0], 0x10004000u);
    EXPECT_EQ(t.at(1).bar[2], 0x10011000u);
    EXPECT_EQ(t.at(1).bar[1], 0u);
    const Bdf vf0 = t.at(0).bdf;
    EXPECT_EQ(t.assign(vf0, 1), Status::BadState) << "not provisioned";
    t.find(vf0)->provisioned = true;
    EXPECT_EQ(t.assign(pf.at, 1), Status::Unsupported) << "the PF";
    EXPECT_EQ(t.assign(Bdf{0, 9, 1}, 1), Status::NotFound);
    EXPECT_EQ(t.assign(vf0, kNoOwner), Status::InvalidArgument);
    EXPECT_EQ(t.assign(vf0, 1), Status::Ok);
    EXPECT_EQ(t.assign(vf0, 1), Status::AlreadyExists);
    EXPECT_EQ(t.assign(vf0, 2), Status::Busy);
    EXPECT_EQ(t.release(vf0, 2), Status::BadState);
    EXPECT_EQ(t.find(vf0)->owner, 1u);
    EXPECT_EQ(t.release(vf0, 1), Status::Ok);
    EXPECT_EQ(t.assign(vf0, 2), Status::Ok);
}

TEST(VfTable, FullTableRecordsNothing) {
    SriovPf pf;
    Capability c = read_capability(pf, pf.at).value();
    ASSERT_EQ(set_num_vfs(pf, pf.at, c, 7, false), Status::Ok);
    Bar bars[6] = {};
    VfTable t;
    for (u32 i = 0; i < VfTable::kMax / 7; ++i) {
        pf.at.dev = static_cast<u8>(i);
        ASSERT_EQ(t.add_pf(pf.at, c, bars, 0), Status::Ok);
    }
    const u32 before = t.count();
    pf.at.dev = 20;
    EXPECT_EQ(t.add_pf(pf.at, c, bars, 0), Status::NoMemory);
    EXPECT_EQ(t.count(), before);
}

} // namespace
} // namespace keel::sriov
