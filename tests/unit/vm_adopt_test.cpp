// Live update's takeover of VMs by another image's VM manager (docs/handover.md §2.2 Vm,
// §4 step 4), on the fake arch: VmManager::adopt from a Vm record and VmManager::adopt_arch.
#include <string.h>

#include "vm_manager_fixture.hpp"

namespace keel {

// Live update (docs/handover.md §2.2 Vm, §4 step 4): another image's manager takes over a
// VM from its Vm record (id, state as VmState, cpu_mask, mem_base/size, first_cpu, name),
// over a pool that already gives the VM its RAM. The record is written here field by field
// from what the outgoing manager reports, as the arch's describe does.
struct VmAdopt : VmManagerTest {
    VmManager incoming; // the new image's manager: nothing of `m` but the record
    update::VmRecord record_of(u32 id) {
        const Vm& vm = *m.find(id);
        update::VmRecord r{};
        r.id = id;
        r.state = static_cast<u32>(vm.state);
        r.cpu_mask = vm.cpu_mask;
        r.mem_base = vm.mem_base.raw();
        r.mem_size = vm.mem_size;
        r.first_cpu = vm.first_cpu;
        r.vcpu_count = 1;
        memcpy(r.name, "adopted-vm-name!", 16); // all 16 bytes: no NUL in the record
        return r;
    }
};

TEST_F(VmAdopt, TheVmContinuesWithItsStateCoresAndMemory) {
    drive(1, 0x2, VmState::Running);
    drive(2, 0xc, VmState::Ready);
    const u64 free = pool_free_bytes();
    ASSERT_EQ(incoming.adopt(record_of(1)), Status::Ok);
    ASSERT_EQ(incoming.adopt(record_of(2)), Status::Ok);
    EXPECT_EQ(pool_free_bytes(), free) << "nothing allocated: the pool already gives it";
    const Vm* a = incoming.find(1);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->state, VmState::Running);
    EXPECT_EQ(a->cpu_mask, 0x2u);
    EXPECT_EQ(a->first_cpu, 1u);
    EXPECT_EQ(a->mem_base, m.find(1)->mem_base);
    EXPECT_EQ(a->mem_size, 64 * MiB);
    EXPECT_STREQ(a->label, "adopted-vm-name!");
    EXPECT_EQ(incoming.state(2), VmState::Ready);
    EXPECT_EQ(incoming.cores_owned(), 0xeu);
    // The mailbox attaches its console after the VMs were adopted: they print into it too.
    struct Sink final : ConsoleSink {
        void out(u32, const char*, usize) override {}
    } sink;
    EXPECT_EQ(a->console, nullptr);
    incoming.set_console(&sink);
    EXPECT_EQ(a->console, &sink);
    EXPECT_EQ(incoming.find(2)->console, &sink);
    EXPECT_EQ(incoming.find(3), nullptr) << "a free slot stays as it is";
}

TEST_F(VmAdopt, EachBrokenRuleIsRefusedAndChangesNothing) {
    drive(1, 0x2, VmState::Running);
    drive(2, 0x4, VmState::Running);
    ASSERT_EQ(incoming.adopt(record_of(1)), Status::Ok);
    auto refused = [&](update::VmRecord r, Status want) {
        EXPECT_EQ(incoming.adopt(r), want);
        EXPECT_EQ(incoming.find(r.id == 1 ? 2 : r.id), nullptr);
        EXPECT_EQ(incoming.cores_owned(), 0x2u);
    };
    update::VmRecord r = record_of(2);
    refused(record_of(1), Status::BadState); // its slot is taken
    r.id = 9;
    refused(r, Status::OutOfRange);
    r = record_of(2);
    r.state = static_cast<u32>(VmState::Free);
    refused(r, Status::BadState);
    r.state = 77;
    refused(r, Status::BadState);
    r = record_of(2);
    r.cpu_mask = 0x6; // core 1 is VM 1's
    refused(r, Status::InvalidArgument);
    r = record_of(2);
    r.first_cpu = 3; // not among its cores
    refused(r, Status::InvalidArgument);
    r = record_of(2);
    r.mem_base = m.find(1)->mem_base.raw(); // VM 1's RAM
    refused(r, Status::InvalidArgument);
    r = record_of(2);
    r.mem_size += 2 * MiB; // more than the pool gives it
    refused(r, Status::InvalidArgument);
    r = record_of(2);
    r.mem_base += 4096;
    refused(r, Status::InvalidArgument);
    ASSERT_EQ(incoming.adopt(record_of(2)), Status::Ok) << "the record as written still fits";
}

} // namespace keel

namespace keel {

// The arch's part follows from the whole record; a record without the VM leaves nothing.
TEST_F(VmAdopt, TheArchStateComesFromTheRecordOrTheVmIsForgotten) {
    drive(1, 0x2, VmState::Running);
    drive(2, 0x4, VmState::Running);
    update::VmRecord one = record_of(1);
    one.vcpu_count = 1;
    update::HandoverView view;
    view.vm_count = 1;
    view.vms[0] = &one;
    ASSERT_EQ(incoming.adopt(one), Status::Ok);
    ASSERT_EQ(incoming.adopt_arch(1, view), Status::Ok);
    EXPECT_EQ(incoming.find(1)->arch.vcpus, 1u);
    EXPECT_TRUE(incoming.find(1)->arch.stage2_live);
    ASSERT_EQ(incoming.adopt(record_of(2)), Status::Ok);
    EXPECT_EQ(incoming.adopt_arch(2, view), Status::NotFound) << "the view has no VM 2";
    EXPECT_EQ(incoming.find(2), nullptr) << "forgotten";
    EXPECT_EQ(incoming.cores_owned(), 0x2u) << "its cores unowned again";
    EXPECT_EQ(incoming.adopt_arch(2, view), Status::NotFound);
}

} // namespace keel
