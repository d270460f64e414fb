// VF assignment (drivers/sriov/vf_assign.cpp): the ownership refusals, each its own
// reason; the DMA map a VM's VF gets (IOVA = the VM's IPA onto exactly its memory); and
// the way back, in the order the design requires (docs/sriov.md "Assignment"): bus
// mastering off and Function Level Reset (PCIe Base 6.0 §6.6.2: Device Control bit 15,
// in the PCI Express capability, §7.5.3.4), then the stream quarantined, and only then
// is the VF free for another VM.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "drivers/sriov/vf_assign.hpp"

namespace keel::sriov {
namespace {

std::vector<std::string> g_trace; // what happened, in order, across the fakes

std::string bdf_text(pci::Bdf f) {
    char b[16];
    std::snprintf(b, sizeof b, "%02x:%02x.%x", f.bus, f.dev, f.fn);
    return b;
}

// Every function's config space: a PCI Express capability at 40h, FLR capable (or not).
class Config final : public pci::ConfigAccess {
public:
    bool flr_capable = true;
    u32 command[8] = {}; // by function number on 00:01
    u32 read32(pci::Bdf f, u32 off) override {
        if (off == pci::kCfgCommand) return command[f.fn & 7] | (1u << 20); // + cap list
        if (off == pci::kCfgCapPtr) return 0x40;
        if (off == 0x40) return pci::kCapIdPcie;
        if (off == 0x44) return flr_capable ? pci::kDevCapFlr : 0;
        return 0;
    }
    void write32(pci::Bdf f, u32 off, u32 v) override {
        if (off == pci::kCfgCommand) {
            command[f.fn & 7] = v & 0xffff;
            g_trace.push_back("command " + bdf_text(f) + " " + std::to_string(v & 0xffff));
        }
        if (off == 0x48 && (v & pci::kDevCtlFlr)) {
            command[f.fn & 7] = 0; // the reset clears the function's command register
            g_trace.push_back("flr " + bdf_text(f));
        }
    }
};

class Iommu final : public DmaIsolation {
public:
    std::vector<iommu::DmaMap> maps;
    Status attach_result = Status::Ok;
    Status quarantine_result = Status::Ok;
    Status attach(pci::Bdf f, const iommu::DmaMap* m, u32 count) override {
        if (attach_result != Status::Ok) return attach_result;
        for (u32 i = 0; i < count; ++i)
            maps.push_back(m[i]);
        g_trace.push_back("attach " + bdf_text(f));
        return Status::Ok;
    }
    Status quarantine(pci::Bdf f) override {
        g_trace.push_back("quarantine " + bdf_text(f));
        return quarantine_result;
    }
};

class Clock final : public pci::Waiter {
public:
    void wait_us(u64) override {}
};

constexpr pci::Bdf kPf{0, 1, 0}, kVf1{0, 1, 1}, kVf2{0, 1, 2}, kNothing{0, 7, 0};

class VfAssignTest : public ::testing::Test {
protected:
    VfTable table;
    Config cfg;
    Iommu iommu;
    Clock clock;
    VfAssigner assigner{table, cfg, iommu, clock};
    VmMemory vm1{0x40000000, PhysAddr(0x80000000), 64 * MiB};
    VmMemory vm2{0x40000000, PhysAddr(0x90000000), 32 * MiB};

    void SetUp() override {
        g_trace.clear();
        Capability cap;
        cap.num_vfs = 2;
        cap.first_offset = 1;
        cap.stride = 1;
        pci::Bar bars[6];
        bars[0].present = true;
        bars[0].size = 16 * KiB;
        bars[0].addr = 0x10000000;
        ASSERT_EQ(table.add_pf(kPf, cap, bars, 0), Status::Ok);
        table.find(kVf1)->provisioned = true;
        table.find(kVf2)->provisioned = true;
    }
};

TEST_F(VfAssignTest, AttachMapsExactlyTheVmsMemoryAtItsIpaThenEnablesBusMastering) {
    VfError why = VfError::Hardware;
    ASSERT_EQ(assigner.attach(1, vm1, kVf1, &why), Status::Ok);
    EXPECT_EQ(why, VfError::None);
    ASSERT_EQ(iommu.maps.size(), 1u);
    EXPECT_EQ(iommu.maps[0].iova.raw(), 0x40000000u);
    EXPECT_EQ(iommu.maps[0].pa.raw(), 0x80000000u);
    EXPECT_EQ(iommu.maps[0].size, 64 * MiB);
    EXPECT_TRUE(iommu.maps[0].write);
    EXPECT_EQ(table.find(kVf1)->owner, 1u);
    // The translation exists before the VF may master anything.
    ASSERT_EQ(g_trace.size(), 2u);
    EXPECT_EQ(g_trace[0], "attach 00:01.1");
    EXPECT_EQ(g_trace[1], "command 00:01.1 6"); // memory + bus master
}

TEST_F(VfAssignTest, TheMsiDoorbellPageIsTheOnlyOtherMappingAndNeverInsideTheVm) {
    const iommu::DmaMap doorbell{IoVirt(0x08090000), PhysAddr(0x08090000), 4096, true};
    ASSERT_EQ(assigner.attach(1, vm1, kVf1, nullptr, &doorbell), Status::Ok);
    ASSERT_EQ(iommu.maps.size(), 2u);
    EXPECT_EQ(iommu.maps[1].iova.raw(), 0x08090000u);
    EXPECT_EQ(iommu.maps[1].size, 4096u);
    const iommu::DmaMap inside{IoVirt(0x40001000), PhysAddr(0x08090000), 4096, true};
    VfError why = VfError::None;
    EXPECT_EQ(assigner.attach(2, vm2, kVf2, &why, &inside), Status::InvalidArgument);
    EXPECT_EQ(why, VfError::NoRoom);
    EXPECT_EQ(table.find(kVf2)->owner, kNoOwner);
}

TEST_F(VfAssignTest, EachRefusalHasItsOwnReasonAndChangesNothing) {
    ASSERT_EQ(assigner.attach(1, vm1, kVf1, nullptr), Status::Ok);
    g_trace.clear();
    struct Case {
        u32 vm;
        pci::Bdf f;
        VfError why;
    } cases[] = {
        {2, kVf1, VfError::OwnedByOther},
        {1, kVf1, VfError::AlreadyOwned},
        {2, kPf, VfError::IsPf},
        {2, kNothing, VfError::UnknownBdf},
    };
    for (const Case& c : cases) {
        VfError why = VfError::None;
        EXPECT_NE(assigner.attach(c.vm, vm2, c.f, &why), Status::Ok);
        EXPECT_EQ(why, c.why) << vf_error_text(c.why);
    }
    table.find(kVf2)->provisioned = false;
    VfError why = VfError::None;
    EXPECT_NE(assigner.attach(2, vm2, kVf2, &why), Status::Ok);
    EXPECT_EQ(why, VfError::NotProvisioned);
    EXPECT_TRUE(g_trace.empty()); // no IOMMU or config write for any refusal
    EXPECT_EQ(table.find(kVf1)->owner, 1u);
    EXPECT_EQ(table.find(kVf2)->owner, kNoOwner);
    // The reasons are distinct texts.
    EXPECT_STRNE(vf_error_text(VfError::OwnedByOther), vf_error_text(VfError::IsPf));
    EXPECT_STRNE(vf_error_text(VfError::NotProvisioned), vf_error_text(VfError::UnknownBdf));
}

// Each reason's text reaches keelctl whole: the reply's message field holds 47 characters and
// a NUL (docs/mailbox.md §3.11), and no two reasons read the same.
TEST(VfErrorText, EveryReasonFitsTheReplyAndIsItsOwn) {
    constexpr u32 kLast = static_cast<u32>(VfError::Unsupported);
    for (u32 a = 0; a <= kLast; ++a) {
        const char* t = vf_error_text(static_cast<VfError>(a));
        EXPECT_LE(strlen(t), 47u) << t;
        EXPECT_STRNE(t, "?") << "reason " << a;
        for (u32 b = a + 1; b <= kLast; ++b)
            EXPECT_STRNE(t, vf_error_text(static_cast<VfError>(b)));
    }
}

TEST_F(VfAssignTest, NoIommuMeansNoAssignmentAndTheVfStaysFree) {
    iommu.attach_result = Status::NotFound; // the VF's stream is behind no SMMU Keel drives
    VfError why = VfError::None;
    EXPECT_EQ(assigner.attach(1, vm1, kVf1, &why), Status::NotFound);
    EXPECT_EQ(why, VfError::NoIommu);
    EXPECT_EQ(table.find(kVf1)->owner, kNoOwner);
    EXPECT_TRUE(g_trace.empty()); // bus mastering never turned on
    iommu.attach_result = Status::NoMemory;
    EXPECT_EQ(assigner.attach(1, vm1, kVf1, &why), Status::NoMemory);
    EXPECT_EQ(why, VfError::NoRoom);
}

TEST_F(VfAssignTest, DetachResetsThenQuarantinesThenFrees) {
    ASSERT_EQ(assigner.attach(1, vm1, kVf1, nullptr), Status::Ok);
    g_trace.clear();
    VfError why = VfError::Hardware;
    EXPECT_EQ(assigner.detach(2, kVf1, &why), Status::BadState);
    EXPECT_EQ(why, VfError::NotOwned);
    EXPECT_EQ(assigner.detach(1, kPf, &why), Status::Unsupported);
    EXPECT_EQ(why, VfError::IsPf);
    EXPECT_EQ(assigner.detach(1, kNothing, &why), Status::NotFound);
    EXPECT_EQ(why, VfError::UnknownBdf);
    EXPECT_TRUE(g_trace.empty());
    ASSERT_EQ(assigner.detach(1, kVf1, &why), Status::Ok);
    EXPECT_EQ(why, VfError::None);
    // Bus mastering off, FLR, memory decoding back (bus mastering stays off), then the
    // stream aborts; only after that is the VF free.
    const std::vector<std::string> want = {"command 00:01.1 2", "flr 00:01.1", "command 00:01.1 2",
                                           "quarantine 00:01.1"};
    EXPECT_EQ(g_trace, want);
    EXPECT_EQ(table.find(kVf1)->owner, kNoOwner);
    EXPECT_EQ(cfg.command[1] & pci::kCmdBusMaster, 0u);
    // The next owner gets a translation of its own memory only.
    ASSERT_EQ(assigner.attach(2, vm2, kVf1, nullptr), Status::Ok);
    EXPECT_EQ(iommu.maps.back().pa.raw(), 0x90000000u);
    EXPECT_EQ(iommu.maps.back().size, 32 * MiB);
}

TEST_F(VfAssignTest, AQuarantineThatFailsKeepsTheVfOwnedForever) {
    ASSERT_EQ(assigner.attach(1, vm1, kVf1, nullptr), Status::Ok);
    iommu.quarantine_result = Status::Timeout;
    VfError why = VfError::None;
    EXPECT_EQ(assigner.detach(1, kVf1, &why), Status::Timeout);
    EXPECT_EQ(why, VfError::Hardware);
    EXPECT_EQ(table.find(kVf1)->owner, 1u); // never handed to anyone else
    EXPECT_NE(assigner.attach(2, vm2, kVf1, &why), Status::Ok);
    EXPECT_EQ(why, VfError::OwnedByOther);
}

TEST_F(VfAssignTest, AVfThatCannotBeResetIsQuarantinedAndRetired) {
    ASSERT_EQ(assigner.attach(1, vm1, kVf1, nullptr), Status::Ok);
    cfg.flr_capable = false;
    g_trace.clear();
    EXPECT_EQ(assigner.detach(1, kVf1, nullptr), Status::Ok);
    EXPECT_EQ(g_trace.back(), "quarantine 00:01.1");
    EXPECT_EQ(cfg.command[1] & pci::kCmdBusMaster, 0u);
    VfError why = VfError::None;
    EXPECT_NE(assigner.attach(2, vm2, kVf1, &why), Status::Ok);
    EXPECT_EQ(why, VfError::NotProvisioned);
}

TEST_F(VfAssignTest, DetachAllTakesBackEveryVfOfThatVmOnly) {
    ASSERT_EQ(assigner.attach(1, vm1, kVf1, nullptr), Status::Ok);
    ASSERT_EQ(assigner.attach(2, vm2, kVf2, nullptr), Status::Ok);
    g_trace.clear();
    EXPECT_EQ(assigner.detach_all(1), 1u);
    EXPECT_EQ(table.find(kVf1)->owner, kNoOwner);
    EXPECT_EQ(table.find(kVf2)->owner, 2u);
    EXPECT_EQ(g_trace.back(), "quarantine 00:01.1");
    EXPECT_EQ(assigner.detach_all(kNoOwner), 0u);
    EXPECT_EQ(assigner.detach_all(1), 0u);
}

} // namespace
} // namespace keel::sriov
