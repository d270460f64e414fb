// The VM state machine (hypervisor/mailbox/lifecycle.hpp, docs/vm-lifecycle.md): every
// (state, event) pair against the documented table, then the same rules as the service
// applies them to commands (refusals change nothing and never reach the backend).
#include "hypervisor/mailbox/lifecycle.hpp"

#include "tests/unit/mailbox_test_util.hpp"

namespace keel::mailbox {
namespace {

using S = VmLifeState;
using E = VmEvent;

TEST(MailboxLifecycle, EveryTransitionMatchesTheTable) {
    struct Allowed {
        S from;
        E ev;
        S to;
    };
    const Allowed allowed[] = {
        {S::Free, E::Create, S::Loading},         {S::Loading, E::LoadChunk, S::Loading},
        {S::Loading, E::LoadComplete, S::Ready},  {S::Ready, E::Start, S::Running},
        {S::Running, E::Stop, S::Stopping},       {S::Running, E::GuestEnded, S::Stopped},
        {S::Stopping, E::GuestEnded, S::Stopped}, {S::Loading, E::Destroy, S::Free},
        {S::Ready, E::Destroy, S::Free},          {S::Stopped, E::Destroy, S::Free},
    };
    u32 ok = 0;
    for (u32 s = 0; s <= static_cast<u32>(S::Stopped); ++s) {
        for (u32 e = 0; e <= static_cast<u32>(E::Destroy); ++e) {
            const Result<S> r = vm_transition(static_cast<S>(s), static_cast<E>(e));
            const Allowed* want = nullptr;
            for (const Allowed& a : allowed)
                if (a.from == static_cast<S>(s) && a.ev == static_cast<E>(e)) want = &a;
            if (want) {
                ASSERT_TRUE(r.ok()) << "state " << s << " event " << e;
                EXPECT_EQ(r.value(), want->to);
                ++ok;
            } else {
                EXPECT_EQ(r.status(), Status::BadState) << "state " << s << " event " << e;
            }
        }
    }
    EXPECT_EQ(ok, sizeof allowed / sizeof allowed[0]);
}

// The service end to end against the fake backend.
struct MailboxLife : ::testing::Test {
    test::Box b;
    u8 kernel[256];
    void SetUp() override {
        for (u32 i = 0; i < sizeof kernel; ++i)
            kernel[i] = static_cast<u8>(i * 7);
        memcpy(b.bytes() + kBulkOffset, kernel, sizeof kernel);
        b.attach();
    }
    S state(u32 id = 1) { return b.svc->state(id); }
    Status create(const char* name = "vm") {
        CreateVmPayload p = test::create_payload(name, sizeof kernel, kernel);
        return b.call(Opcode::CreateVm, 0, &p, sizeof p);
    }
    Status load(u64 image_off, u64 len, u32 id = 1) {
        LoadImagePayload l{0, 0, image_off, image_off, len};
        return b.call(Opcode::LoadImage, id, &l, sizeof l);
    }
    Status stop(u32 timeout_ms) {
        StopPayload p{timeout_ms, 0};
        return b.call(Opcode::Stop, 1, &p, sizeof p);
    }
    void to_ready() {
        ASSERT_EQ(create(), Status::Ok);
        ASSERT_EQ(load(0, 128), Status::Ok);
        ASSERT_EQ(state(), S::Loading) << "half loaded";
        ASSERT_EQ(load(128, 128), Status::Ok);
        ASSERT_EQ(state(), S::Ready);
    }
};

TEST_F(MailboxLife, FullCycleThroughGuestEnd) {
    to_ready();
    EXPECT_EQ(b.be.loaded[1], std::vector<u8>(kernel, kernel + sizeof kernel));
    EXPECT_EQ(b.call(Opcode::Start, 1), Status::Ok);
    EXPECT_EQ(state(), S::Running);
    EXPECT_EQ(b.call(Opcode::Start, 1), Status::BadState) << "not a restart";
    EXPECT_EQ(b.call(Opcode::Destroy, 1), Status::BadState) << "STOP first";
    EXPECT_EQ(b.be.starts, 1u);
    b.be.ended_flag[1] = true;
    b.svc->poll();
    EXPECT_EQ(state(), S::Stopped);
    EXPECT_EQ(b.call(Opcode::Start, 1), Status::BadState);
    EXPECT_EQ(stop(0), Status::BadState);
    EXPECT_EQ(b.call(Opcode::Destroy, 1), Status::Ok);
    EXPECT_EQ(state(), S::Free);
    EXPECT_EQ(b.be.releases, 1u);
    EXPECT_EQ(b.call(Opcode::Describe, 1), Status::NotFound);
    EXPECT_EQ(b.call(Opcode::Destroy, 1), Status::BadState);
}

TEST_F(MailboxLife, RefusedCommandsOnEveryEarlyState) {
    // Free
    EXPECT_EQ(b.call(Opcode::Start, 1), Status::BadState);
    EXPECT_EQ(load(0, 4), Status::BadState);
    EXPECT_EQ(stop(0), Status::BadState);
    EXPECT_EQ(b.call(Opcode::Destroy, 1), Status::BadState);
    // Loading
    ASSERT_EQ(create(), Status::Ok);
    EXPECT_EQ(b.call(Opcode::Start, 1), Status::BadState);
    EXPECT_EQ(stop(0), Status::BadState);
    EXPECT_EQ(create(), Status::AlreadyExists) << "names are unique";
    // Ready
    ASSERT_EQ(load(0, 256), Status::Ok);
    EXPECT_EQ(load(0, 4), Status::BadState) << "no loading into a Ready VM";
    EXPECT_EQ(stop(0), Status::BadState);
    EXPECT_EQ(b.be.starts + b.be.stops, 0u) << "refusals never reach the backend";
}

TEST_F(MailboxLife, LoadOutOfOrderOrPastTheAnnouncedSizeIsRefused) {
    ASSERT_EQ(create(), Status::Ok);
    EXPECT_EQ(load(4, 4), Status::OutOfRange) << "chunks arrive in order";
    ASSERT_EQ(load(0, 252), Status::Ok);
    EXPECT_EQ(load(252, 8), Status::OutOfRange) << "past kernel_size";
    EXPECT_EQ(state(), S::Loading);
}

TEST_F(MailboxLife, HashMismatchKeepsTheVmLoadingAndRestartsTheLoad) {
    ASSERT_EQ(create(), Status::Ok);
    b.bytes()[kBulkOffset + 100] ^= 1; // the bytes in the window are not the announced image
    EXPECT_EQ(load(0, 256), Status::HashMismatch);
    EXPECT_EQ(state(), S::Loading);
    EXPECT_EQ(b.call(Opcode::Start, 1), Status::BadState);
    b.bytes()[kBulkOffset + 100] ^= 1;
    EXPECT_EQ(load(0, 256), Status::Ok) << "a fresh load from offset 0";
    EXPECT_EQ(state(), S::Ready);
}

TEST_F(MailboxLife, GracefulStopTimesOutIntoAForcedStop) {
    to_ready();
    ASSERT_EQ(b.call(Opcode::Start, 1), Status::Ok);
    ASSERT_EQ(stop(500), Status::Ok);
    EXPECT_EQ(state(), S::Stopping);
    EXPECT_EQ(b.be.forced_stops, 0u);
    EXPECT_EQ(stop(0), Status::BadState) << "already stopping";
    b.be.now += 499;
    b.svc->poll();
    EXPECT_EQ(b.be.forced_stops, 0u);
    b.be.now += 1;
    b.svc->poll();
    b.svc->poll();
    EXPECT_EQ(b.be.forced_stops, 1u) << "exactly one forced stop at the deadline";
    EXPECT_EQ(state(), S::Stopping);
    b.be.ended_flag[1] = true;
    b.svc->poll();
    EXPECT_EQ(state(), S::Stopped);
}

TEST_F(MailboxLife, BackendFailuresLeaveTheStateAsItWas) {
    b.be.reserve_result = Status::Busy;
    EXPECT_EQ(create(), Status::Busy);
    EXPECT_EQ(state(), S::Free);
    b.be.reserve_result = Status::Ok;
    to_ready();
    b.be.start_result = Status::NoMemory;
    EXPECT_EQ(b.call(Opcode::Start, 1), Status::NoMemory);
    EXPECT_EQ(state(), S::Ready);
    b.be.start_result = Status::Ok;
    ASSERT_EQ(b.call(Opcode::Start, 1), Status::Ok);
    b.be.stop_result = Status::Unsupported;
    EXPECT_EQ(stop(0), Status::Unsupported);
    EXPECT_EQ(state(), S::Running);
}

TEST_F(MailboxLife, DestroyFromLoadingAndReadyFreesTheSlotAndItsName) {
    ASSERT_EQ(create(), Status::Ok);
    EXPECT_EQ(b.call(Opcode::Destroy, 1), Status::Ok);
    EXPECT_EQ(state(), S::Free);
    to_ready();
    EXPECT_EQ(b.call(Opcode::Destroy, 1), Status::Ok);
    EXPECT_EQ(b.svc->vm(1).name[0], '\0');
    EXPECT_EQ(create(), Status::Ok) << "the name is free again";
}

TEST_F(MailboxLife, SlotsRunOut) {
    char name[4] = "v0";
    for (u32 i = 0; i < kMaxVms; ++i) {
        name[1] = static_cast<char>('0' + i);
        ASSERT_EQ(create(name), Status::Ok);
    }
    EXPECT_EQ(create("extra"), Status::NoMemory);
    ListReply l;
    ResponseSlot r;
    ASSERT_EQ(b.call(Opcode::List, 0, nullptr, 0, &r), Status::Ok);
    memcpy(&l, r.payload, sizeof l);
    EXPECT_EQ(l.count, kMaxVms);
}

// PLATFORM (docs/mailbox.md §3.8) answers the backend's description as it is, names no VM
// and carries no payload; DESCRIBE carries the node of the VM's memory.
TEST_F(MailboxLife, PlatformAndMemoryNode) {
    PlatformReply want{};
    want.cpus = 8, want.packages = 2, want.cores = 4, want.nodes = 2;
    want.irq_kind = 3, want.smmus = 1, want.flags = 1, want.hypervisor_cpus = 0x3;
    for (u32 i = 0; i < 8; ++i)
        want.cpu_core[i] = static_cast<u8>(i / 2),
        want.cpu_package_node[i] = static_cast<u8>((i / 4) * 0x11);
    b.be.platform_reply = want;
    ResponseSlot r{};
    ASSERT_EQ(b.call(Opcode::Platform, 0, nullptr, 0, &r), Status::Ok);
    EXPECT_EQ(memcmp(r.payload, &want, sizeof want), 0);
    EXPECT_TRUE(std::all_of(r.payload + sizeof want, r.payload + kRespPayloadMax,
                            [](u8 v) { return v == 0; }));
    EXPECT_EQ(b.call(Opcode::Platform, 1), Status::InvalidArgument) << "names no VM";
    const u32 junk = 1;
    EXPECT_EQ(b.call(Opcode::Platform, 0, &junk, sizeof junk), Status::InvalidArgument);

    ASSERT_EQ(create(), Status::Ok);
    b.be.node_of[1] = 1;
    ASSERT_EQ(b.call(Opcode::Describe, 1, nullptr, 0, &r), Status::Ok);
    MetricsReply m{};
    memcpy(&m, r.payload, sizeof m);
    EXPECT_EQ(m.mem_node, 1u);
    b.be.node_of[1] = kNoNode;
    ASSERT_EQ(b.call(Opcode::Metrics, 1, nullptr, 0, &r), Status::Ok);
    memcpy(&m, r.payload, sizeof m);
    EXPECT_EQ(m.mem_node, kNoNode);
}

} // namespace
} // namespace keel::mailbox
