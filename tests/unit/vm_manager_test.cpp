// The VM manager and both of its clients on the fake arch (arch/fake/fake_vm.hpp): every
// admission rule, every transition of the state table (expected values written out from
// docs/vm-lifecycle.md, not computed by lifecycle.hpp), every way a VM ends, the boot
// client's keel.vm= runs, and random sequences from both clients with the machine-wide
// invariants checked after every step.
#include "vm_manager_fixture.hpp"

namespace keel {
namespace {

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

// NUMA (issue 16): with two nodes of 512 MiB, a VM on a node-1 CPU gets node-1 memory,
// one on a node-0 CPU node-0 memory; a VM too big for its node still gets memory.
TEST_F(VmManagerTest, VmMemoryComesFromItsCoresNode) {
    Platform p;
    for (u64 id = 0; id < 4; ++id)
        ASSERT_TRUE(p.add_cpu(id, true));
    p.cpus[2].node = p.cpus[3].node = 1;
    p.mem_nodes[0] = MemNode{kRamBase, kRam / 2, 0};
    p.mem_nodes[1] = MemNode{kRamBase + kRam / 2, kRam / 2, 1};
    p.mem_node_count = 2;
    m.set_topology(p);
    m.init(HostCores{kCores, 1});
    ASSERT_EQ(m.create(1, 0x4, 400 * MiB), Status::Ok);
    EXPECT_GE(m.find(1)->mem_base.raw(), kRamBase + kRam / 2);
    ASSERT_EQ(m.create(2, 0x2, 64 * MiB), Status::Ok);
    EXPECT_LT(m.find(2)->mem_base.raw(), kRamBase + kRam / 2);
    // Node 1 has 112 MiB left: a 128 MiB VM on its other CPU comes from node 0.
    ASSERT_EQ(m.create(3, 0x8, 128 * MiB), Status::Ok);
    EXPECT_LT(m.find(3)->mem_base.raw(), kRamBase + kRam / 2);
    // DESCRIBE's node (docs/mailbox.md §3.8) is where the memory is, not where it was
    // wanted: VM 3's cores are on node 1, its memory on node 0.
    VmControl c(m, p);
    EXPECT_EQ(c.mem_node(1), 1u);
    EXPECT_EQ(c.mem_node(2), 0u);
    EXPECT_EQ(c.mem_node(3), 0u);
    EXPECT_EQ(c.mem_node(4), mailbox::kNoNode) << "no such VM";
    m.set_topology(Platform{});
    EXPECT_EQ(c.mem_node(1), mailbox::kNoNode) << "no NUMA description";
}

// PLATFORM: two 2-thread cores on package 0 / node 0 and package 1 / node 1; the
// hypervisor's CPU 0 keeps its sibling CPU 1.
TEST_F(VmManagerTest, PlatformReplyDescribesWholeCores) {
    Platform p;
    for (u64 id = 0; id < 4; ++id)
        ASSERT_TRUE(p.add_cpu(id, true));
    for (u32 i = 0; i < 4; ++i)
        p.cpus[i].core = i / 2, p.cpus[i].thread = i % 2,
        p.cpus[i].package = p.cpus[i].node = i / 2;
    p.topology_known = true;
    p.irq_kind = IrqControllerKind::GicV3;
    p.smmu_count = 1;
    m.set_topology(p);
    m.init(HostCores{kCores, 1});
    VmControl c(m, p);
    mailbox::PlatformReply r{};
    c.platform(r);
    EXPECT_EQ(r.cpus, 4u);
    EXPECT_EQ(r.packages, 2u);
    EXPECT_EQ(r.cores, 2u);
    EXPECT_EQ(r.nodes, 2u);
    EXPECT_EQ(r.irq_kind, 3u);
    EXPECT_EQ(r.smmus, 1u);
    EXPECT_EQ(r.flags, 1u);
    EXPECT_EQ(r.hypervisor_cpus, 0x3u);
    const u8 core[4] = {0, 0, 1, 1}, pn[4] = {0x00, 0x00, 0x11, 0x11};
    for (u32 i = 0; i < 4; ++i) {
        EXPECT_EQ(r.cpu_core[i], core[i]) << i;
        EXPECT_EQ(r.cpu_package_node[i], pn[i]) << i;
    }
    m.set_topology(Platform{});
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

// Scrub on release, apart from zero on allocation (issue 10 item 21): the guest dirties every
// page of its RAM; however the VM ends, those pages are zeroed when the VM gives them back,
// before anyone allocates them again (no create happens between the end and the check).
TEST_F(VmManagerTest, ReleasedMemoryIsScrubbedOnReleaseNotOnTheNextAllocation) {
    enum class How { PowerOff, Fault, Reset, ForcedStop, DestroyLoaded, DestroyRunning };
    for (How how : {How::PowerOff, How::Fault, How::Reset, How::ForcedStop, How::DestroyLoaded,
                    How::DestroyRunning}) {
        SCOPED_TRACE(static_cast<int>(how));
        drive(3, 0x6, how == How::DestroyLoaded ? VmState::Ready : VmState::Running);
        const Vm& vm = *m.find(3);
        const u64 base = vm.mem_base.raw(), size = vm.mem_size;
        EXPECT_EQ(fake::dirty_bytes(base, size), 4096u) << "the loaded guest's page";
        if (how != How::DestroyLoaded) fake::guest_writes(base, size); // every byte
        ASSERT_GT(fake::dirty_bytes(base, size), 0u);
        switch (how) {
        case How::PowerOff:
        case How::Fault:
        case How::Reset:
            fake::guest_end(const_cast<Vm&>(vm), how == How::PowerOff ? VmEnd::GuestPowerOff
                                                 : how == How::Fault  ? VmEnd::Fault
                                                                      : VmEnd::GuestReset);
            ASSERT_EQ(m.poll(), 1u);
            break;
        case How::ForcedStop:
            ASSERT_EQ(m.stop(3, true), Status::Ok);
            ASSERT_EQ(m.poll(), 1u);
            break;
        case How::DestroyLoaded:
        case How::DestroyRunning: break;
        }
        if (how == How::DestroyRunning) {
            EXPECT_EQ(m.destroy(3), Status::BadState) << "a running VM is stopped first";
            ASSERT_EQ(m.stop(3, true), Status::Ok);
            ASSERT_EQ(m.poll(), 1u);
        }
        if (how != How::DestroyLoaded) {
            EXPECT_EQ(pool_free_bytes(), baseline) << "released at the end";
            EXPECT_EQ(fake::dirty_bytes(base, size), 0u) << "released without a scrub";
        }
        ASSERT_EQ(m.destroy(3), Status::Ok);
        EXPECT_EQ(fake::dirty_bytes(base, size), 0u) << "released without a scrub";
        EXPECT_EQ(fake::dirty_bytes(0, ~0ull), 0u) << "guest data left anywhere";
    }
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
    Platform none;
    VmControl c(m, none);
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
    Platform none;
    VmControl c(m, none);
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
    Platform none;
    VmControl c(m, none);
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
