// The arm64 device-tree reader, run on the host against blobs dtc compiles from
// tests/data/*.dts at build time.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "arch/arm64/dtb_platform.hpp"

using namespace keel;

namespace {
std::vector<char> load(const char* name) {
    std::ifstream f(std::string(KEEL_BUILD_DIR) + "/test-dtbs/" + name, std::ios::binary);
    std::vector<char> blob((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    blob.resize(blob.size() + 64); // slack so truncation tests stay inside the vector
    return blob;
}
} // namespace

TEST(DtbPlatform, ReadsEverythingKeelNeeds) {
    auto blob = load("virt-2mem.dtb");
    Platform p;
    ASSERT_EQ(arm64::dtb_read_platform(blob.data(), p), Status::Ok);
    ASSERT_EQ(p.mem_count, 3u);
    EXPECT_EQ(p.mem[0].base, 0x40000000u);
    EXPECT_EQ(p.mem[0].size, 0x20000000u);
    EXPECT_EQ(p.mem[2].base, 0x100000000u);
    EXPECT_EQ(p.usable_bytes(), 0x20000000u + 0x10000000u + 0x40000000u);
    ASSERT_EQ(p.cpu_count, 4u);
    EXPECT_EQ(p.cpus[2].hw_id, 0x100u);
    EXPECT_TRUE(p.cpus[2].enabled);
    EXPECT_FALSE(p.cpus[3].enabled);
    EXPECT_EQ(p.irq_kind, IrqControllerKind::GicV3);
    EXPECT_EQ(p.irq_dist_base, 0x8000000u);
    EXPECT_EQ(p.irq_redist_base, 0x80a0000u);
    EXPECT_EQ(p.uart_base, 0x9000000u);
    EXPECT_EQ(p.ecam_base, 0x4010000000u);
    EXPECT_EQ(p.pci_bus_end, 0xffu);
    EXPECT_EQ(p.psci, PsciConduit::Hvc);
    EXPECT_EQ(arm64::dtb_find_uart(blob.data()), 0x9000000u);
}

TEST(DtbPlatform, FillsBootInfoMemoryAndBootargs) {
    auto blob = load("virt-2mem.dtb");
    BootInfo bi{};
    ASSERT_EQ(arm64::dtb_fill_boot_info(blob.data(), bi), Status::Ok);
    EXPECT_EQ(bi.mem_count, 3u);
    EXPECT_STREQ(bi.cmdline, "keel.test=fault console=pl011");
}

TEST(DtbPlatform, RejectsMachinesItCannotRun) {
    Platform p;
    auto none = load("no-cpus.dtb");
    EXPECT_EQ(arm64::dtb_read_platform(none.data(), p), Status::NotFound);
    Platform q;
    auto bad = load("bad-reg.dtb");
    EXPECT_EQ(arm64::dtb_read_platform(bad.data(), q), Status::Corrupt);
}

TEST(DtbPlatform, RejectsCorruptHeaders) {
    auto blob = load("virt-2mem.dtb");
    Platform p;
    std::vector<char> bad = blob;
    bad[0] ^= 0x01; // magic
    EXPECT_EQ(arm64::dtb_read_platform(bad.data(), p), Status::Corrupt);
    std::vector<char> zero(256, 0);
    EXPECT_EQ(arm64::dtb_read_platform(zero.data(), p), Status::Corrupt);
}
