// The boot client (hypervisor/vm/boot_vms.cpp) driving the VM manager on the fake arch:
// keel.vm= definitions run in order, Linux sources read from host memory only after they
// are checked, shared and given back; the product image refuses test-guest definitions.
#include "vm_manager_fixture.hpp"

namespace keel {
namespace {

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

} // namespace
} // namespace keel
