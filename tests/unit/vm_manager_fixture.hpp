// The VM manager test fixture, shared by vm_manager_test.cpp and
// vm_manager_boot_client_test.cpp: a 1 GiB pool on the fake arch, four cores with core 0
// the hypervisor's, and a teardown that checks nothing leaked.
#pragma once
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

// Not in an anonymous namespace: both test files' TEST_Fs must name one fixture class.

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

} // namespace keel
