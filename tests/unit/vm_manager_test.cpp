// The VM manager and both of its clients on the fake arch (arch/fake/fake_vm.hpp): every
// admission rule, every transition of the state table (expected values written out from
// docs/vm-lifecycle.md, not computed by lifecycle.hpp), every way a VM ends, the boot
// client's keel.vm= runs, and random sequences from both clients with the machine-wide
// invariants checked after every step.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

#include "arch/fake/fake_vm.hpp"
#include "hypervisor/boot_info.hpp"
#include "hypervisor/mailbox/shared.hpp"
#include "hypervisor/platform.hpp"
#include "hypervisor/vm/boot_vms.hpp"
#include "hypervisor/vm/partitions.hpp"
#include "hypervisor/vm/vm_control.hpp"
#include "hypervisor/vm/vm_manager.hpp"

namespace keel::arch {
const char* fake_console_text();
void fake_console_clear();
} // namespace keel::arch

namespace keel {
namespace {

constexpr u64 kRamBase = 0x40000000;
constexpr u64 kRam = 1 * GiB;
constexpr u64 kImage = 4 * MiB; // the "hypervisor image" at the start of RAM
constexpr u64 kCores = 0xf;     // four cores, core 0 the hypervisor's

class VmManagerTest : public ::testing::Test {
protected:
    void SetUp() override {
        fake::reset();
        arch::fake_console_clear();
        Platform p;
        p.add_mem(kRamBase, kRam, MemType::Usable);
        BootInfo info{};
        info.image_base = kRamBase;
        info.image_size = kImage;
        ASSERT_EQ(pool_init(info, p), Status::Ok);
        baseline = pool_baseline();
        ASSERT_EQ(baseline, kRam - kImage);
        m.init(HostCores{kCores, 1});
    }
    void TearDown() override {
        for (u32 id = 1; id <= Vm::kMaxVms; ++id) {
            if (m.state(id) == VmState::Running || m.state(id) == VmState::Stopping) {
                (void)m.stop(id, true);
                (void)m.poll();
            }
            if (m.state(id) != VmState::Free) {
                ASSERT_EQ(m.destroy(id), Status::Ok);
            }
        }
        EXPECT_EQ(pool_free_bytes(), baseline) << "memory leaked";
        EXPECT_EQ(m.cores_owned(), 0u);
    }

    // Drives VM `id` (cores `mask`, 64 MiB) into `s` through the public calls.
    void drive(u32 id, u64 mask, VmState s) {
        if (s == VmState::Free) return;
        ASSERT_EQ(m.create(id, mask, 64 * MiB), Status::Ok);
        if (s == VmState::Loading) return;
        u8 guest[32] = {1, 2, 3};
        ASSERT_EQ(m.load(id, 0, guest, sizeof guest), Status::Ok);
        ASSERT_EQ(m.seal(id), Status::Ok);
        if (s == VmState::Ready) return;
        GuestImage img;
        img.kernel_bytes = sizeof guest;
        ASSERT_EQ(m.start(id, img), Status::Ok);
        if (s == VmState::Running) return;
        if (s == VmState::Stopping) {
            ASSERT_EQ(m.stop(id, false), Status::Ok);
            return;
        }
        fake::guest_end(const_cast<Vm&>(*m.find(id)), VmEnd::GuestPowerOff);
        ASSERT_EQ(m.poll(), 1u);
    }

    VmManager m;
    u64 baseline = 0;
};

// --- admission ----------------------------------------------------------------------

TEST_F(VmManagerTest, AdmissionRulesEachRefuseWithTheirReasonAndChangeNothing) {
    struct Case {
        u64 mask, mem;
        Status status;
        VmDefError why;
    } cases[] = {
        {0x1, 64 * MiB, Status::Busy, VmDefError::ReservedCore},    // the hypervisor's core
        {0x10, 64 * MiB, Status::NotFound, VmDefError::NoSuchCore}, // no core 4
        {0x2, 2 * GiB, Status::NoMemory, VmDefError::NoMemory},     // more than the pool
        {0x2, 3 * MiB, Status::InvalidArgument, VmDefError::BadMemSize},
        {0x2, 0, Status::InvalidArgument, VmDefError::BadMemSize},
        {0x0, 64 * MiB, Status::InvalidArgument, VmDefError::Malformed}, // no core at all
    };
    for (const Case& c : cases) {
        VmDefError why = VmDefError::None;
        EXPECT_EQ(m.create(1, c.mask, c.mem, &why), c.status) << c.mask << " " << c.mem;
        EXPECT_EQ(why, c.why);
        EXPECT_EQ(m.state(1), VmState::Free);
        EXPECT_EQ(pool_free_bytes(), baseline);
        EXPECT_EQ(m.cores_owned(), 0u);
    }
    EXPECT_EQ(m.create(0, 0x2, 64 * MiB), Status::OutOfRange);
    EXPECT_EQ(m.create(Vm::kMaxVms + 1, 0x2, 64 * MiB), Status::OutOfRange);
}

TEST_F(VmManagerTest, ACoreHasOneOwnerAndAnIdOneVm) {
    ASSERT_EQ(m.create(1, 0x6, 64 * MiB), Status::Ok);
    VmDefError why = VmDefError::None;
    EXPECT_EQ(m.create(2, 0x4, 64 * MiB, &why), Status::Busy);
    EXPECT_EQ(why, VmDefError::CoreTaken);
    EXPECT_EQ(m.create(1, 0x8, 64 * MiB), Status::BadState); // id 1 is live
    EXPECT_EQ(m.cores_owned(), 0x6u);
    EXPECT_EQ(pool_free_bytes(), baseline - 64 * MiB);
    ASSERT_EQ(m.create(2, 0x8, 64 * MiB), Status::Ok);
    EXPECT_EQ(m.cores_free(), 0u);
}

// SMT: CPUs 0+1 and 2+3 are the two threads of two physical cores (issue 16). The
// hypervisor runs on CPU 0, so CPU 1 is never a VM's; a VM naming CPU 2 owns CPU 3 too
// (idle), so no other VM runs beside it; destroying it frees both threads.
TEST_F(VmManagerTest, SmtSiblingsAreNeverSplit) {
    Platform p;
    for (u64 id = 0; id < 4; ++id)
        ASSERT_TRUE(p.add_cpu(id, true));
    for (u32 i = 0; i < 4; ++i) {
        p.cpus[i].core = i / 2;
        p.cpus[i].thread = i % 2;
    }
    p.topology_known = true;
    m.set_topology(p);
    m.init(HostCores{kCores, 1});
    EXPECT_EQ(m.cores_free(), 0xcu); // CPU 1 shares the hypervisor's core
    VmDefError why = VmDefError::None;
    EXPECT_EQ(m.create(1, 0x2, 64 * MiB, &why), Status::Busy);
    EXPECT_EQ(why, VmDefError::ReservedCore);
    ASSERT_EQ(m.create(2, 0x4, 64 * MiB), Status::Ok);
    EXPECT_EQ(m.cores_owned(), 0xcu);
    EXPECT_EQ(m.cores_free(), 0u);
    EXPECT_EQ(m.create(3, 0x8, 64 * MiB, &why), Status::Busy);
    EXPECT_EQ(why, VmDefError::CoreTaken);
    ASSERT_EQ(m.destroy(2), Status::Ok);
    EXPECT_EQ(m.cores_free(), 0xcu);
    ASSERT_EQ(m.create(3, 0xc, 64 * MiB), Status::Ok); // both threads to one VM is fine
    EXPECT_EQ(m.cores_owned(), 0xcu);
    // Without topology every CPU is its own core again.
    ASSERT_EQ(m.destroy(3), Status::Ok);
    m.set_topology(Platform{});
    EXPECT_EQ(m.cores_free(), 0xeu);
}

TEST_F(VmManagerTest, FragmentedPoolSaysSo) {
    // Fill the pool with 64 MiB VMs on alternating ids, free every other one: enough in
    // total, but no contiguous run for one large VM.
    HostCores many{~0ull >> 1, 1};
    m.init(many);
    const u64 chunk = (baseline / 4) & ~(2 * MiB - 1);
    for (u32 id = 1; id <= 4; ++id)
        ASSERT_EQ(m.create(id, 1ull << id, chunk), Status::Ok) << id;
    ASSERT_EQ(m.destroy(1), Status::Ok);
    ASSERT_EQ(m.destroy(3), Status::Ok);
    VmDefError why = VmDefError::None;
    EXPECT_EQ(m.create(5, 1ull << 5, chunk + 2 * MiB, &why), Status::NoMemory);
    EXPECT_EQ(why, VmDefError::NoContiguousMemory);
    EXPECT_STREQ(vm_def_error_text(why),
                 "the pool has that much free, but not in one contiguous run");
}

TEST_F(VmManagerTest, ArchCreateFailureLeavesNothingBehind) {
    fake::fail_next_create(Status::NoMemory);
    EXPECT_EQ(m.create(1, 0x2, 64 * MiB), Status::NoMemory);
    EXPECT_EQ(m.state(1), VmState::Free);
    EXPECT_EQ(pool_free_bytes(), baseline);
    EXPECT_EQ(m.cores_owned(), 0u);
    EXPECT_EQ(m.create(1, 0x2, 64 * MiB), Status::Ok);
}

// --- the state table ------------------------------------------------------------------

enum class Op { Create, Load, Seal, Start, Stop, ForceStop, Destroy };
constexpr VmState kStates[] = {VmState::Free,    VmState::Loading,  VmState::Ready,
                               VmState::Running, VmState::Stopping, VmState::Stopped};
constexpr Op kOps[] = {Op::Create, Op::Load,      Op::Seal,   Op::Start,
                       Op::Stop,   Op::ForceStop, Op::Destroy};

// docs/vm-lifecycle.md, written out: the state after `op` in state `s` (after the manager
// has reaped any end), or nullopt for BadState.
std::optional<VmState> expected(VmState s, Op op) {
    using S = VmState;
    switch (op) {
    case Op::Create: return s == S::Free ? std::optional(S::Loading) : std::nullopt;
    case Op::Load: return s == S::Loading ? std::optional(S::Loading) : std::nullopt;
    case Op::Seal: return s == S::Loading ? std::optional(S::Ready) : std::nullopt;
    case Op::Start: return s == S::Ready ? std::optional(S::Running) : std::nullopt;
    case Op::Stop: return s == S::Running ? std::optional(S::Stopping) : std::nullopt;
    case Op::ForceStop: // the fake guest leaves at once: reaped into Stopped
        return s == S::Running || s == S::Stopping ? std::optional(S::Stopped) : std::nullopt;
    case Op::Destroy:
        return s == S::Loading || s == S::Ready || s == S::Stopped ? std::optional(S::Free)
                                                                   : std::nullopt;
    }
    return std::nullopt;
}

TEST_F(VmManagerTest, EveryTransitionOfTheTable) {
    for (VmState s : kStates) {
        for (Op op : kOps) {
            SCOPED_TRACE(std::string(vm_state_name(s)) + " op " + std::to_string(int(op)));
            drive(3, 0x2, s);
            const u64 free_before = pool_free_bytes();
            Status st = Status::Ok;
            u8 byte = 7;
            GuestImage img;
            switch (op) {
            case Op::Create: st = m.create(3, 0x4, 64 * MiB); break;
            case Op::Load: st = m.load(3, 0, &byte, 1); break;
            case Op::Seal: st = m.seal(3); break;
            case Op::Start: st = m.start(3, img); break;
            case Op::Stop: st = m.stop(3, false); break;
            case Op::ForceStop: st = m.stop(3, true); break;
            case Op::Destroy: st = m.destroy(3); break;
            }
            (void)m.poll();
            const std::optional<VmState> want = expected(s, op);
            if (want) {
                EXPECT_EQ(st, Status::Ok);
                EXPECT_EQ(m.state(3), *want);
            } else {
                EXPECT_EQ(st, Status::BadState);
                EXPECT_EQ(m.state(3), s) << "a refused call changed the state";
                EXPECT_EQ(pool_free_bytes(), free_before) << "a refused call moved memory";
            }
            TearDown(); // back to an empty machine for the next pair
            fake::reset();
            m.init(HostCores{kCores, 1});
        }
    }
}

// --- ends -------------------------------------------------------------------------------

TEST_F(VmManagerTest, EveryEndReturnsCoresAndMemoryAndIsObserved) {
    struct Observer final : VmObserver {
        void vm_ended(const Vm& vm) override { ends.push_back(vm.end); }
        std::vector<VmEnd> ends;
    } obs;
    m.set_observer(&obs);
    const VmEnd kinds[] = {VmEnd::GuestPowerOff, VmEnd::Fault, VmEnd::GuestReset};
    for (VmEnd e : kinds) {
        drive(2, 0x6, VmState::Running);
        EXPECT_EQ(m.cores_owned(), 0x6u);
        fake::guest_end(const_cast<Vm&>(*m.find(2)), e);
        EXPECT_EQ(m.state(2), VmState::Running) << "nothing ends before the manager reaps it";
        EXPECT_EQ(m.poll(), 1u);
        EXPECT_EQ(m.state(2), VmState::Stopped);
        EXPECT_EQ(m.find(2)->end, e);
        EXPECT_EQ(m.find(2)->arch.stage2_live, false) << "second stage torn down";
        EXPECT_EQ(m.cores_owned(), 0u);
        EXPECT_EQ(pool_free_bytes(), baseline);
        ASSERT_EQ(m.destroy(2), Status::Ok);
    }
    drive(2, 0x6, VmState::Running);
    ASSERT_EQ(m.stop(2, true), Status::Ok);
    EXPECT_EQ(m.poll(), 1u);
    EXPECT_EQ(m.find(2)->end, VmEnd::ControllerStop);
    EXPECT_EQ(obs.ends.size(), 4u);
    EXPECT_EQ(obs.ends.back(), VmEnd::ControllerStop);
    // Destroying a VM that never ran releases it the same way.
    ASSERT_EQ(m.destroy(2), Status::Ok);
    drive(2, 0x6, VmState::Ready);
    ASSERT_EQ(m.destroy(2), Status::Ok);
    EXPECT_EQ(pool_free_bytes(), baseline);
    EXPECT_EQ(m.cores_owned(), 0u);
    EXPECT_GE(fake::scrubbed_bytes(), 5 * 64 * MiB) << "every release scrubbed";
}

// Issue 10 item 13: a polite STOP presses the power button (once) and leaves the VM
// running; a guest that acts on it ends as a guest power-off, one that ignores it is
// forced by the second, forced STOP (the mailbox's timeout), which presses nothing.
TEST_F(VmManagerTest, PoliteStopPressesThePowerButtonForcedStopDoesNot) {
    drive(1, 0x2, VmState::Running);
    Vm& obeys = const_cast<Vm&>(*m.find(1));
    obeys.arch.obeys_button = true;
    ASSERT_EQ(m.stop(1, false), Status::Ok);
    EXPECT_EQ(obeys.arch.button_presses, 1u);
    EXPECT_EQ(obeys.arch.stop_requests, 0u);
    EXPECT_EQ(m.poll(), 1u);
    EXPECT_EQ(m.find(1)->end, VmEnd::GuestPowerOff);

    drive(2, 0x4, VmState::Running);
    Vm& deaf = const_cast<Vm&>(*m.find(2));
    ASSERT_EQ(m.stop(2, false), Status::Ok);
    EXPECT_EQ(deaf.arch.button_presses, 1u);
    EXPECT_EQ(m.state(2), VmState::Stopping);
    EXPECT_EQ(m.poll(), 0u) << "still running: it ignored the button";
    ASSERT_EQ(m.stop(2, true), Status::Ok);
    EXPECT_EQ(deaf.arch.button_presses, 1u);
    EXPECT_EQ(deaf.arch.stop_requests, 1u);
    EXPECT_EQ(m.poll(), 1u);
    EXPECT_EQ(m.find(2)->end, VmEnd::ControllerStop);

    drive(3, 0x8, VmState::Running);
    ASSERT_EQ(m.stop(3, true), Status::Ok);
    EXPECT_EQ(m.find(3)->arch.button_presses, 0u) << "forced at once: no button";
}

TEST_F(VmManagerTest, NothingOfAVmSurvivesInItsSlot) {
    drive(1, 0x2, VmState::Running);
    m.set_label(1, "first");
    fake::guest_end(const_cast<Vm&>(*m.find(1)), VmEnd::Fault);
    (void)m.poll();
    ASSERT_EQ(m.destroy(1), Status::Ok);
    EXPECT_EQ(m.find(1), nullptr);
    ASSERT_EQ(m.create(1, 0x4, 4 * MiB), Status::Ok);
    const Vm& vm = *m.find(1);
    EXPECT_EQ(vm.label[0], '\0');
    EXPECT_EQ(vm.stats.exits, 0u);
    EXPECT_EQ(vm.end, VmEnd::None);
    EXPECT_FALSE(vm.end_reported());
    for (u8 b : vm.kernel_head)
        EXPECT_EQ(b, 0);
}

TEST_F(VmManagerTest, BootDescriptionComesFromLoadedBytesNotGuestRam) {
    ASSERT_EQ(m.create(1, 0x2, 64 * MiB), Status::Ok);
    u8 kernel[64] = {};
    std::memcpy(kernel, "FAKELNX!", 8);
    const u64 extent = 8 * MiB;
    std::memcpy(kernel + 8, &extent, 8);
    // Loaded in two pieces: the head is captured across both.
    ASSERT_EQ(m.load(1, 0, kernel, 5), Status::Ok);
    ASSERT_EQ(m.load(1, 5, kernel + 5, sizeof kernel - 5), Status::Ok);
    EXPECT_EQ(std::memcmp(m.find(1)->kernel_head, kernel, sizeof kernel), 0);
    EXPECT_EQ(m.load(1, 64 * MiB - 1, kernel, 2), Status::OutOfRange) << "past the VM's RAM";
    ASSERT_EQ(m.seal(1), Status::Ok);
    GuestImage img;
    img.kind = GuestKind::Linux;
    img.initrd_offset = 60 * MiB;
    img.initrd_bytes = 8 * MiB; // past the end of RAM
    EXPECT_EQ(m.start(1, img), Status::OutOfRange);
    EXPECT_EQ(m.state(1), VmState::Ready);
    img.initrd_bytes = 2 * MiB;
    ASSERT_EQ(m.start(1, img), Status::Ok);
    EXPECT_EQ(m.find(1)->arch.boot_regs[0], kRamBase + 62 * MiB) << "the fake's Linux protocol ran";
}

// --- the mailbox client -------------------------------------------------------------------

TEST_F(VmManagerTest, MailboxClientDrivesTheSameManager) {
    VmControl c(m);
    ASSERT_EQ(c.reserve(4, 0x8, 32 * MiB), Status::Ok);
    EXPECT_EQ(m.state(4), VmState::Loading);
    alignas(4) static u8 shared[64 * KiB];
    std::memset(shared, 0x11, sizeof shared);
    mailbox::SharedRegion bulk(shared, sizeof shared);
    crypto::Sha256 h;
    h.init();
    ASSERT_EQ(c.load(4, mailbox::ImageKind::Kernel, 0, bulk, 0, 4096, h), Status::Ok);
    EXPECT_EQ(m.find(4)->arch.ram_head[0], 0x11);
    EXPECT_EQ(c.load(4, mailbox::ImageKind::Kernel, 16 * MiB, bulk, 0, 4096, h), Status::OutOfRange)
        << "the kernel half ends at mem/2";
    EXPECT_EQ(c.start(4, "console=ttyAMA0"), Status::BadState) << "not sealed yet";
    ASSERT_EQ(c.seal(4), Status::Ok);
    EXPECT_EQ(c.state(4), VmState::Ready);
    ASSERT_EQ(c.start(4, "console=ttyAMA0"), Status::Ok);
    EXPECT_EQ(m.state(4), VmState::Running);
    EXPECT_EQ(m.find(4)->image.kind, GuestKind::Raw);
    EXPECT_EQ(m.find(4)->arch.boot_regs[3], 0u);
    EXPECT_EQ(c.console_input(4, 'x'), Status::Ok);
    EXPECT_EQ(c.state(4), VmState::Running);
    EXPECT_EQ(c.host().cores_free_mask, 0x6u);
    EXPECT_EQ(c.stop(4, true), Status::Ok);
    (void)m.poll();
    EXPECT_EQ(c.state(4), VmState::Stopped);
    EXPECT_EQ(c.console_input(4, 'x'), Status::BadState);
    EXPECT_EQ(c.release(4), Status::Ok);
    EXPECT_EQ(m.state(4), VmState::Free);
}

// A raw guest started through the mailbox takes its test-guest mode from keel.guest=
// (how the mailbox e2e tests run the power-button guests); unknown values stay Basic.
TEST_F(VmManagerTest, MailboxRawGuestModeFromCmdline) {
    VmControl c(m);
    alignas(4) static u8 shared[4 * KiB];
    mailbox::SharedRegion bulk(shared, sizeof shared);
    const struct {
        const char* cmdline;
        u64 mode;
    } cases[] = {{"keel.guest=deaf", 9}, {"quiet keel.guest=button", 8}, {"keel.guest=echo", 0}};
    for (const auto& k : cases) {
        ASSERT_EQ(c.reserve(4, 0x8, 4 * MiB), Status::Ok);
        crypto::Sha256 h;
        h.init();
        ASSERT_EQ(c.load(4, mailbox::ImageKind::Kernel, 0, bulk, 0, 256, h), Status::Ok);
        ASSERT_EQ(c.seal(4), Status::Ok);
        ASSERT_EQ(c.start(4, k.cmdline), Status::Ok);
        EXPECT_EQ(m.find(4)->arch.boot_regs[3], k.mode) << k.cmdline;
        EXPECT_EQ(c.stop(4, true), Status::Ok);
        (void)m.poll();
        ASSERT_EQ(c.release(4), Status::Ok);
    }
}

// --- the boot client --------------------------------------------------------------------

TEST_F(VmManagerTest, BootClientRunsDefinitionsInOrderAndEndsAtBaseline) {
    run_boot_vms("keel.vm=cpus:1,mem:64M keel.vm=cpus:2-3,mem:128M,guest:wild "
                 "keel.vm=cpus:1,mem:64M,after:1 keel.vm=cpus:0,mem:64M keel.vm=cpus:1,mem:3M",
                 kCores, 0);
    const std::string out = arch::fake_console_text();
    EXPECT_NE(out.find("vm 1: created: cpus 0x2, 64 MiB"), std::string::npos) << out;
    EXPECT_NE(out.find("vm 2: created: cpus 0xc, 128 MiB"), std::string::npos);
    EXPECT_NE(out.find("vm 3: created: cpus 0x2, 64 MiB"), std::string::npos) << "after VM 1";
    EXPECT_LT(out.find("vm 1: destroyed (guest power-off)"), out.find("vm 3: created"));
    EXPECT_NE(
        out.find("vm 4: rejected \"keel.vm=cpus:0,mem:64M\": names the hypervisor's own core"),
        std::string::npos);
    EXPECT_NE(out.find("vm 5: rejected \"keel.vm=cpus:1,mem:3M\": memory must be a non-zero"),
              std::string::npos);
    EXPECT_NE(out.find("vm 3: summary: guest power-off"), std::string::npos);
    EXPECT_NE(out.find("keel: all VMs ended, pool 1020 MiB, baseline 1020 MiB"), std::string::npos);
    for (u32 id = 1; id <= 5; ++id)
        EXPECT_EQ(vm_manager().state(id), VmState::Free);
}

TEST_F(VmManagerTest, BootClientLoadsLinuxSourcesFromHostMemory) {
    static u8 kernel[4096];
    std::memcpy(kernel, "FAKELNX!", 8);
    const u64 extent = 4096;
    std::memcpy(kernel + 8, &extent, 8);
    kernel[100] = 0xab;
    fake::set_host_memory(0x60000000, kernel, sizeof kernel);
    run_boot_vms("keel.vm=cpus:1,mem:64M,kernel:0x60000000,args:quiet", kCores, 0);
    const std::string out = arch::fake_console_text();
    EXPECT_NE(out.find("vm 1: created: cpus 0x2, 64 MiB"), std::string::npos) << out;
    EXPECT_NE(out.find("pool: reserved 0x60000000-0x60200000 for guest sources"),
              std::string::npos);
    EXPECT_NE(out.find("vm 1: summary: guest power-off"), std::string::npos);
    // The source block left the pool for good: the baseline dropped by one block.
    EXPECT_NE(out.find("keel: all VMs ended, pool 1018 MiB, baseline 1018 MiB"), std::string::npos);
    baseline = pool_baseline();
}

// Issue 10 items 3-6: a source is checked against the pool (the boot memory map) before a
// byte of it is read, its size is bounded by the VM, and a refused definition gives its
// reservation back.
TEST_F(VmManagerTest, BootClientRefusesSourcesOutsideFreeRamBeforeReadingThem) {
    run_boot_vms("keel.vm=cpus:1,mem:64M,kernel:0x200000000 " // no RAM there
                 "keel.vm=cpus:2,mem:64M,kernel:0x40000000 "  // the hypervisor's image
                 "keel.vm=cpus:3,mem:64M",
                 kCores, 0);
    const std::string out = arch::fake_console_text();
    EXPECT_EQ(fake::host_reads(), 0u) << "nothing outside free pool RAM was read";
    EXPECT_NE(out.find("vm 1: rejected \"keel.vm=cpus:1,mem:64M,kernel:0x200000000\": guest "
                       "sources: not free RAM the pool manages"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("vm 2: rejected \"keel.vm=cpus:2,mem:64M,kernel:0x40000000\": guest "
                       "sources: not free RAM"),
              std::string::npos);
    EXPECT_NE(out.find("vm 3: summary: guest power-off"), std::string::npos) << "the valid VM ran";
    EXPECT_NE(out.find("keel: all VMs ended, pool 1020 MiB, baseline 1020 MiB"), std::string::npos);
}

TEST_F(VmManagerTest, BootClientBoundsTheKernelByTheVmAndReleasesRefusedSources) {
    static u8 kernel[64];
    std::memcpy(kernel, "FAKELNX!", 8);
    const u64 huge = 0xfffffff000; // an image_size of ~1 TiB
    std::memcpy(kernel + 8, &huge, 8);
    fake::set_host_memory(0x60000000, kernel, sizeof kernel);
    run_boot_vms("keel.vm=cpus:1,mem:64M,kernel:0x60000000 keel.vm=cpus:2,mem:1016M", kCores, 0);
    const std::string out = arch::fake_console_text();
    EXPECT_NE(out.find("vm 1: rejected"), std::string::npos) << out;
    EXPECT_NE(out.find("larger than the VM's memory"), std::string::npos);
    EXPECT_EQ(out.find("pool: reserved"), std::string::npos) << "nothing was reserved for it";
    EXPECT_NE(out.find("vm 2: created: cpus 0x4, 1016 MiB"), std::string::npos)
        << "the whole pool was still there for a valid VM";
}

TEST_F(VmManagerTest, BootClientSharesOneSourceAndGivesBackWhatARefusedVmHeld) {
    static u8 kernel[64];
    std::memcpy(kernel, "FAKELNX!", 8);
    const u64 extent = 6 * MiB;
    std::memcpy(kernel + 8, &extent, 8);
    fake::set_host_memory(0x60000000, kernel, sizeof kernel);
    // VM 1 and 2 share the kernel; VM 3 holds its own initrd, then is refused at admission
    // (its core is taken): its initrd goes back, the shared kernel stays for the others.
    run_boot_vms(
        "keel.vm=cpus:1,mem:64M,kernel:0x60000000 keel.vm=cpus:2,mem:64M,kernel:0x60000000 "
        "keel.vm=cpus:2,mem:64M,kernel:0x60000000,initrd:0x70000000+4096",
        kCores, 0);
    const std::string out = arch::fake_console_text();
    EXPECT_NE(out.find("pool: reserved 0x60000000-0x60600000"), std::string::npos) << out;
    EXPECT_NE(out.find("pool: reserved 0x70000000-0x70200000"), std::string::npos);
    EXPECT_NE(
        out.find("vm 3: rejected \"keel.vm=cpus:2,mem:64M,kernel:0x60000000,initrd:0x70000000+"
                 "4096\": names a core another VM owns"),
        std::string::npos);
    EXPECT_NE(out.find("pool: released guest sources 0x70000000-0x70200000"), std::string::npos);
    EXPECT_NE(out.find("vm 2: summary: guest power-off"), std::string::npos);
    EXPECT_NE(out.find("keel: all VMs ended, pool 1014 MiB, baseline 1014 MiB"), std::string::npos);
    baseline = pool_baseline();
}

TEST_F(VmManagerTest, ProductImageRefusesTestGuestDefinitions) {
    fake::set_builtin_guest(nullptr, 0);
    run_boot_vms("keel.vm=cpus:1,mem:64M", kCores, 0);
    EXPECT_NE(std::string(arch::fake_console_text())
                  .find("names no kernel, and this image has no built-in test guest"),
              std::string::npos);
}

// --- random sequences from both clients ------------------------------------------------------

// After every step: every core and every block has at most one owner, and what the
// manager says it owns is exactly what the VMs that hold resources have.
void check_invariants(const VmManager& m, u64 baseline) {
    u64 cores = 0, held = 0;
    for (u32 id = 1; id <= Vm::kMaxVms; ++id) {
        const Vm* vm = m.find(id);
        const VmState s = m.state(id);
        const bool holds = s == VmState::Loading || s == VmState::Ready || s == VmState::Running ||
                           s == VmState::Stopping;
        if (!holds) continue;
        ASSERT_NE(vm, nullptr);
        ASSERT_EQ(cores & vm->cpu_mask, 0u) << "core with two owners";
        cores |= vm->cpu_mask;
        held += vm->mem_size;
        ASSERT_TRUE(vm->arch.stage2_live);
    }
    ASSERT_EQ(cores, m.cores_owned());
    ASSERT_EQ(cores & 1u, 0u) << "the hypervisor's core given away";
    ASSERT_EQ(pool_free_bytes() + held, baseline) << "a block with no owner or two";
}

TEST_F(VmManagerTest, TenThousandRandomSequencesFromBothClients) {
    VmControl c(m);
    std::mt19937_64 rng(0x6b65656c);
    alignas(4) static u8 shared[8 * KiB];
    mailbox::SharedRegion bulk(shared, sizeof shared);
    crypto::Sha256 h;
    h.init();
    u32 ok = 0;
    for (int step = 0; step < 10000; ++step) {
        const u32 id = 1 + static_cast<u32>(rng() % Vm::kMaxVms);
        const u64 mask = (rng() % 15 + 1) << 0; // may include the reserved core 0
        const u64 mem = (1 + rng() % 160) * 2 * MiB;
        const bool mailbox_client = rng() & 1;
        Status s = Status::Ok;
        switch (rng() % 9) {
        case 0: s = mailbox_client ? c.reserve(id, mask, mem) : m.create(id, mask, mem); break;
        case 1:
            s = mailbox_client ? c.load(id, mailbox::ImageKind::Kernel, 0, bulk, 0, 4096, h)
                               : m.load_host(id, 0, PhysAddr(0x70000000), 4096);
            break;
        case 2: s = mailbox_client ? c.seal(id) : m.seal(id); break;
        case 3:
            if (mailbox_client)
                s = c.start(id, "x");
            else
                s = m.start(id, GuestImage{});
            break;
        case 4: s = mailbox_client ? c.stop(id, rng() & 1) : m.stop(id, rng() & 1); break;
        case 5: s = mailbox_client ? c.release(id) : m.destroy(id); break;
        case 6:
            fake::for_each_running([&](Vm& vm) {
                if (rng() % 3 == 0) fake::guest_end(vm, static_cast<VmEnd>(1 + rng() % 3));
            });
            break;
        case 7: (void)m.poll(); break;
        case 8: (void)m.console_input(id, "a", 1); break;
        }
        ok += s == Status::Ok;
        ASSERT_NO_FATAL_FAILURE(check_invariants(m, baseline)) << "step " << step;
    }
    EXPECT_GT(ok, 1000u) << "the sequence exercised real transitions";
}

} // namespace
} // namespace keel
