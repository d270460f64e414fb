// The device tree a Linux VM gets (arch/arm64/guest_dtb.cpp), read back with libfdt.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

extern "C" {
#include <libfdt.h>
}

#include "arch/arm64/gic_regs.hpp"
#include "arch/arm64/guest_map.hpp"
#include "arch/arm64/linux_loader.hpp"
#include "arch/arm64/vgic.hpp"

using namespace keel;
using namespace keel::arm64;

namespace {

struct Dtb {
    alignas(8) unsigned char buf[64 * 1024];
    Status build(u32 nvcpus, u64 initrd_start = 0, u64 initrd_end = 0, const char* args = "quiet") {
        GuestDtbInfo in{0x40000000, 384 * MiB, nvcpus, initrd_start, initrd_end, args};
        return build_guest_dtb(in, buf, sizeof buf);
    }
    int node(const char* path) const { return fdt_path_offset(buf, path); }
    const u32* prop(const char* path, const char* name, int* len) const {
        return static_cast<const u32*>(fdt_getprop(buf, node(path), name, len));
    }
    u32 cell(const char* path, const char* name, int i) const {
        int len = 0;
        const u32* p = prop(path, name, &len);
        EXPECT_NE(p, nullptr) << path << " " << name;
        EXPECT_GT(len, 4 * i) << path << " " << name;
        return p && len > 4 * i ? fdt32_to_cpu(p[i]) : 0xdeadbeef;
    }
    std::string str(const char* path, const char* name) const {
        int len = 0;
        const char* p = static_cast<const char*>(fdt_getprop(buf, node(path), name, &len));
        return p ? std::string(p) : std::string("<none>");
    }
};

u64 pair(u32 hi, u32 lo) { return (static_cast<u64>(hi) << 32) | lo; }

} // namespace

TEST(Arm64GuestDtb, IsValidAndDescribesRamAndCpus) {
    Dtb d;
    ASSERT_EQ(d.build(2), Status::Ok);
    ASSERT_EQ(fdt_check_header(d.buf), 0);
    EXPECT_EQ(d.str("/memory@40000000", "device_type"), "memory");
    EXPECT_EQ(pair(d.cell("/memory@40000000", "reg", 0), d.cell("/memory@40000000", "reg", 1)),
              0x40000000u);
    EXPECT_EQ(pair(d.cell("/memory@40000000", "reg", 2), d.cell("/memory@40000000", "reg", 3)),
              384 * MiB);
    EXPECT_GE(d.node("/cpus/cpu@0"), 0);
    EXPECT_GE(d.node("/cpus/cpu@1"), 0);
    EXPECT_LT(d.node("/cpus/cpu@2"), 0);            // exactly the VM's vCPUs
    EXPECT_EQ(d.cell("/cpus/cpu@1", "reg", 0), 1u); // virtual MPIDR Aff0 (VMPIDR_EL2)
    EXPECT_EQ(d.str("/cpus/cpu@1", "enable-method"), "psci");
    EXPECT_EQ(d.str("/psci", "method"), "hvc");
}

TEST(Arm64GuestDtb, GicFramesScaleWithVcpusAndDevicesUseItsInterrupts) {
    Dtb d;
    ASSERT_EQ(d.build(3), Status::Ok);
    const char* gic = "/intc@8000000";
    EXPECT_EQ(d.str(gic, "compatible"), "arm,gic-v3");
    EXPECT_EQ(d.cell(gic, "reg", 1), kGuestGicdIpa);
    EXPECT_EQ(d.cell(gic, "reg", 3), gic::kGicdSize);
    EXPECT_EQ(d.cell(gic, "reg", 5), kGuestGicrIpa);
    EXPECT_EQ(d.cell(gic, "reg", 7), 3 * gic::kGicrFrame); // one redistributor per vCPU
    const u32 phandle = d.cell(gic, "phandle", 0);
    EXPECT_EQ(d.cell("/", "interrupt-parent", 0), phandle);
    // Virtual timer: PPI 11 = INTID 27, which vgic.cpp HW-links.
    EXPECT_EQ(d.cell("/timer", "interrupts", 6), 1u);
    EXPECT_EQ(d.cell("/timer", "interrupts", 7) + 16, gic::kPpiVirtTimer);
    // EL1 physical timer (non-secure): PPI 14 = INTID 30, which vgic.cpp HW-links too.
    EXPECT_EQ(d.cell("/timer", "interrupts", 3), 1u);
    EXPECT_EQ(d.cell("/timer", "interrupts", 4) + 16, gic::kPpiPhysTimer);
    // PL061 and its power button (issue 10 item 13), as on QEMU virt: SPI 7 level-high,
    // a gpio-keys key KEY_POWER (116) on line 3, active high, of that controller.
    const char* gpio = "/pl061@9030000";
    EXPECT_EQ(d.str(gpio, "compatible"), "arm,pl061"); // then "arm,primecell"
    EXPECT_EQ(d.cell(gpio, "reg", 1), 0x09030000u);
    EXPECT_EQ(d.cell(gpio, "reg", 3), 0x1000u);
    EXPECT_EQ(d.cell(gpio, "interrupts", 0), 0u);
    EXPECT_EQ(d.cell(gpio, "interrupts", 1), 7u);
    EXPECT_EQ(d.cell(gpio, "interrupts", 2), 4u);
    EXPECT_EQ(d.cell(gpio, "#gpio-cells", 0), 2u);
    EXPECT_EQ(d.str("/gpio-keys", "compatible"), "gpio-keys");
    EXPECT_EQ(d.cell("/gpio-keys/poweroff", "linux,code", 0), 116u);
    EXPECT_EQ(d.cell("/gpio-keys/poweroff", "gpios", 0), d.cell(gpio, "phandle", 0));
    EXPECT_EQ(d.cell("/gpio-keys/poweroff", "gpios", 1), 3u);
    EXPECT_EQ(d.cell("/gpio-keys/poweroff", "gpios", 2), 0u);
    // PL011: SPI kVuartSpi, level-high; the address the vUART emulates.
    EXPECT_EQ(d.cell("/pl011@9000000", "interrupts", 0), 0u);
    EXPECT_EQ(d.cell("/pl011@9000000", "interrupts", 1) + 32, kVuartSpi);
    EXPECT_EQ(d.cell("/pl011@9000000", "interrupts", 2), 4u);
    EXPECT_EQ(d.cell("/pl011@9000000", "reg", 1), kGuestUartIpa);
    EXPECT_EQ(d.cell("/pl011@9000000", "reg", 3), kGuestUartSize);
}

TEST(Arm64GuestDtb, ChosenCarriesArgsConsoleAndInitrd) {
    Dtb d;
    ASSERT_EQ(d.build(1, 0x42200000, 0x422f0c00, "quiet keel.guest=echo"), Status::Ok);
    EXPECT_EQ(d.str("/chosen", "bootargs"), "quiet keel.guest=echo");
    EXPECT_EQ(d.str("/chosen", "stdout-path"), "/pl011@9000000");
    EXPECT_EQ(pair(d.cell("/chosen", "linux,initrd-start", 0),
                   d.cell("/chosen", "linux,initrd-start", 1)),
              0x42200000u);
    EXPECT_EQ(
        pair(d.cell("/chosen", "linux,initrd-end", 0), d.cell("/chosen", "linux,initrd-end", 1)),
        0x422f0c00u);
    Dtb none;
    ASSERT_EQ(none.build(1), Status::Ok);
    int len = 0;
    EXPECT_EQ(none.prop("/chosen", "linux,initrd-start", &len), nullptr);
}

TEST(Arm64GuestDtb, TooSmallABufferIsAnError) {
    GuestDtbInfo in{0x40000000, 64 * MiB, 1, 0, 0, "quiet"};
    alignas(8) unsigned char small[256];
    EXPECT_NE(build_guest_dtb(in, small, sizeof small), Status::Ok);
}
