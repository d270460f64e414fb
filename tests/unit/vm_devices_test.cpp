// Devices given to VMs, as the VM manager handles them (hypervisor/vm/vm_devices.hpp,
// docs/sriov.md "Assignment"): attach and detach only while a VM is created and not running,
// its RAM ready for DMA before a device gets it, and at every end (guest end, destroy of a
// never-started VM) the devices taken back while the VM's memory is still its own, i.e.
// before the pool has it back.
#include "vm_manager_fixture.hpp"

namespace keel {
namespace {

class Devices final : public VmDevices {
public:
    std::vector<std::string> calls;
    u64 pool_free_at_end = 0;
    bool ram_ready_at_attach = false;
    u32 polls = 0;
    GuestPci* vm_created(Vm& vm) override {
        calls.push_back("created " + std::to_string(vm.id));
        return nullptr;
    }
    GuestPci* vm_adopted(Vm& vm) override {
        calls.push_back("adopted " + std::to_string(vm.id));
        return nullptr;
    }
    Status attach(Vm& vm, u16 rid, u32* why) override {
        ram_ready_at_attach = vm.arch.ram_for_dma;
        calls.push_back("attach " + std::to_string(vm.id) + " " + std::to_string(rid));
        *why = 0;
        return Status::Ok;
    }
    Status detach(Vm& vm, u16 rid, u32* why) override {
        calls.push_back("detach " + std::to_string(vm.id) + " " + std::to_string(rid));
        *why = 0;
        return Status::Ok;
    }
    void vm_ending(Vm& vm) override {
        pool_free_at_end = pool_free_bytes();
        calls.push_back("ending " + std::to_string(vm.id) + (vm.arch.stage2_live ? " mapped" : ""));
    }
    void poll() override { ++polls; }
};

class VmDevicesTest : public VmManagerTest {
protected:
    Devices dev;
    void SetUp() override {
        VmManagerTest::SetUp();
        m.set_devices(&dev);
    }
    void TearDown() override {
        VmManagerTest::TearDown();
        m.set_devices(nullptr);
    }
};

TEST_F(VmDevicesTest, AttachWhileCreatedOrRunningWithItsRamReady) {
    u32 why = 99;
    EXPECT_EQ(m.attach_device(1, 0x9, &why), Status::BadState) << "no such VM";
    EXPECT_EQ(why, 7u);
    drive(1, 0x2, VmState::Loading);
    ASSERT_EQ(m.attach_device(1, 0x9, &why), Status::Ok);
    EXPECT_EQ(why, 0u);
    EXPECT_TRUE(dev.ram_ready_at_attach) << "every block zeroed and mapped before a device DMAs";
    // Running: hot-plug (docs/sriov.md "Hot-plug"), the RAM made ready the same way.
    drive(2, 0x4, VmState::Running);
    ASSERT_EQ(m.attach_device(2, 0xa, &why), Status::Ok);
    EXPECT_EQ(m.detach_device(2, 0xa, &why), Status::Ok);
    // Stopping: it keeps what it has until its end takes everything back.
    drive(3, 0x8, VmState::Running);
    fake::guest_end(const_cast<Vm&>(*m.find(3)), VmEnd::GuestPowerOff);
    EXPECT_EQ(m.attach_device(3, 0xb, &why), Status::BadState);
    EXPECT_EQ(why, 7u);
    ASSERT_EQ(m.detach_device(1, 0x9, &why), Status::Ok);
    const std::vector<std::string> want = {"created 1",   "attach 1 9", "created 2", "attach 2 10",
                                           "detach 2 10", "created 3",  "detach 1 9"};
    EXPECT_EQ(dev.calls, want);
    EXPECT_EQ(m.poll(), 1u);
}

TEST_F(VmDevicesTest, TheDevicesLeaveBeforeTheMemoryAtEveryEnd) {
    drive(1, 0x2, VmState::Running);
    const u64 free_while_running = pool_free_bytes();
    fake::guest_end(const_cast<Vm&>(*m.find(1)), VmEnd::GuestPowerOff);
    EXPECT_EQ(m.poll(), 1u);
    ASSERT_EQ(dev.calls.size(), 2u);
    EXPECT_EQ(dev.calls[0], "created 1") << "its PCI view made at create";
    EXPECT_EQ(dev.calls[1], "ending 1 mapped") << "before the second stage goes";
    EXPECT_EQ(dev.pool_free_at_end, free_while_running) << "before the memory goes back";
    EXPECT_GT(pool_free_bytes(), free_while_running);
    EXPECT_GE(dev.polls, 1u) << "device faults are reported from the manager's poll";
    // A VM destroyed without ever running: the same order.
    drive(2, 0x4, VmState::Ready);
    const u64 free_while_ready = pool_free_bytes();
    ASSERT_EQ(m.destroy(2), Status::Ok);
    EXPECT_EQ(dev.calls.back(), "ending 2 mapped");
    EXPECT_EQ(dev.pool_free_at_end, free_while_ready);
    // A stopped VM's devices left at its end: detach says so, destroy does not take them twice.
    u32 why = 0;
    EXPECT_EQ(m.detach_device(1, 0x9, &why), Status::BadState);
    EXPECT_EQ(why, 6u) << "not owned any more";
    EXPECT_EQ(m.attach_device(1, 0x9, &why), Status::BadState);
    EXPECT_EQ(why, 7u) << "its memory is gone";
    ASSERT_EQ(m.destroy(1), Status::Ok);
    EXPECT_EQ(dev.calls.size(), 4u) << "created 1, ending 1, created 2, ending 2";
}

// Bench mode (`keel.bench`): the boot core runs a vCPU itself and hands the MSIs it took to
// their owners from inside that vCPU's loop (arch/arm64/vcpu_run.cpp), where a VM must not be
// reaped: poll_devices polls the devices and nothing else.
TEST_F(VmDevicesTest, PollDevicesPollsTheDevicesOnlyAndMsisAreCounted) {
    drive(1, 0x2, VmState::Running);
    fake::guest_end(const_cast<Vm&>(*m.find(1)), VmEnd::GuestPowerOff);
    const std::vector<std::string> before = dev.calls; // "created 1" (the VM's guest view)
    m.poll_devices();
    EXPECT_EQ(dev.polls, 1u);
    EXPECT_EQ(dev.calls, before) << "no VM ended in poll_devices";
    EXPECT_EQ(m.state(1), VmState::Running);
    m.set_devices(nullptr);
    m.poll_devices(); // no devices: nothing to do
    m.set_devices(&dev);
    EXPECT_EQ(m.poll(), 1u) << "the reap is poll's";

    drive(2, 0x4, VmState::Running);
    m.raise_msi(2, 48);
    m.raise_msi(2, 49);
    m.raise_msi(9, 48); // no such VM: nothing raised, nothing counted
    EXPECT_EQ(m.find(2)->stats.msis, 2u);
    drive(3, 0x8, VmState::Ready);
    m.raise_msi(3, 48); // not running: dropped
    EXPECT_EQ(m.find(3)->stats.msis, 0u);
}

TEST_F(VmDevicesTest, WithoutDevicesEveryAttachIsRefused) {
    m.set_devices(nullptr);
    drive(1, 0x2, VmState::Loading);
    u32 why = 0;
    EXPECT_EQ(m.attach_device(1, 0x9, &why), Status::NotFound);
    EXPECT_EQ(why, 1u); // sriov::VfError::UnknownBdf
}

} // namespace
} // namespace keel
