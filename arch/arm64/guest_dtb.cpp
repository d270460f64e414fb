// The device tree a Linux VM sees, written with libfdt's sequential writer. It
// describes exactly the machine Keel emulates (vm-definitions.md "Guest-visible
// machine"): RAM, vCPUs with PSCI (HVC), the virtual GICv3, the architected timer,
// the PL011, the PL061 GPIO with its power button (a gpio-keys KEY_POWER key, as QEMU
// virt describes it), a PCIe host bridge when VFs can be assigned to it, and the command
// line / initramfs.
extern "C" {
#include <libfdt.h>
}

#include <arch/vm.hpp>

#include "gic_regs.hpp"
#include "guest_map.hpp"
#include "linux_loader.hpp"
#include "vgic.hpp"
#include "vgpio.hpp"

namespace keel::arm64 {
namespace {

constexpr u32 kGicPhandle = 1, kClkPhandle = 2, kGpioPhandle = 3, kMsiPhandle = 4;
constexpr u32 kKeyPower = 116; // linux/input-event-codes.h KEY_POWER
constexpr u32 kGpioActiveHigh = 0;
constexpr u32 kIrqSpi = 0, kIrqPpi = 1;
constexpr u32 kIrqLevelHigh = 4;

struct Writer {
    void* fdt;
    int err = 0;
    void begin(const char* n) {
        if (!err) err = fdt_begin_node(fdt, n);
    }
    void end() {
        if (!err) err = fdt_end_node(fdt);
    }
    void u32p(const char* n, u32 v) {
        if (!err) err = fdt_property_u32(fdt, n, v);
    }
    void str(const char* n, const char* v) {
        // fdt_property_string() passes strlen()+1 as an int inside a macro: spelled out.
        if (!err) err = fdt_property(fdt, n, v, static_cast<int>(strlen(v) + 1));
    }
    void raw(const char* n, const void* v, int len) {
        if (!err) err = fdt_property(fdt, n, v, len);
    }
    void empty(const char* n) {
        if (!err) err = fdt_property(fdt, n, nullptr, 0);
    }
    template <usize N>
    void cells(const char* n, const u32 (&v)[N]) {
        u32 be[N];
        for (usize i = 0; i < N; ++i)
            be[i] = cpu_to_fdt32(v[i]);
        raw(n, be, static_cast<int>(sizeof be));
    }
};

u32 hi(u64 v) { return static_cast<u32>(v >> 32); }
u32 lo(u64 v) { return static_cast<u32>(v); }

} // namespace

Status build_guest_dtb(const GuestDtbInfo& in, void* buf, u32 size) {
    Writer w{buf};
    w.err = fdt_create(buf, static_cast<int>(size));
    if (!w.err) w.err = fdt_finish_reservemap(buf);
    w.begin("");
    w.str("compatible", "linux,dummy-virt");
    w.u32p("#address-cells", 2);
    w.u32p("#size-cells", 2);
    w.u32p("interrupt-parent", kGicPhandle);

    w.begin("psci");
    static const char kPsciCompat[] = "arm,psci-1.0\0arm,psci-0.2";
    w.raw("compatible", kPsciCompat, sizeof kPsciCompat);
    w.str("method", "hvc");
    w.end();

    w.begin("memory@40000000");
    w.str("device_type", "memory");
    w.cells("reg", {hi(in.ram_ipa), lo(in.ram_ipa), hi(in.ram_size), lo(in.ram_size)});
    w.end();

    w.begin("cpus");
    w.u32p("#address-cells", 1);
    w.u32p("#size-cells", 0);
    for (u32 i = 0; i < in.nvcpus; ++i) {
        char name[8] = {'c', 'p', 'u', '@', static_cast<char>('0' + i), 0};
        w.begin(name);
        w.str("device_type", "cpu");
        w.str("compatible", "arm,armv8");
        w.u32p("reg", i); // the vCPU's virtual MPIDR (VMPIDR_EL2 Aff0)
        w.str("enable-method", "psci");
        w.end();
    }
    w.end();

    w.begin("intc@8000000");
    w.str("compatible", "arm,gic-v3");
    w.u32p("#interrupt-cells", 3);
    w.empty("interrupt-controller");
    w.u32p("#address-cells", 2);
    w.u32p("#size-cells", 2);
    w.empty("ranges");
    const u64 gicr_size = in.nvcpus * gic::kGicrFrame;
    w.cells("reg",
            {0, lo(kGuestGicdIpa), 0, lo(gic::kGicdSize), 0, lo(kGuestGicrIpa), 0, lo(gicr_size)});
    // Maintenance interrupt: the guest has no virtualization of its own; described as on QEMU virt.
    w.cells("interrupts", {kIrqPpi, gic::kPpiMaintenance - 16, kIrqLevelHigh});
    w.u32p("phandle", kGicPhandle);
    if (in.pci) {
        // The GICv2m MSI frame the VFs' MSIs arrive through (vm_msi.cpp): Linux's GICv3
        // driver probes these children when the distributor has no LPIs (GICD_TYPER.LPIS 0).
        w.begin("v2m@8020000");
        w.str("compatible", "arm,gic-v2m-frame");
        w.empty("msi-controller");
        w.cells("reg", {0, lo(kGuestMsiFrameIpa), 0, lo(kGuestMsiFrameSize)});
        w.u32p("phandle", kMsiPhandle);
        w.end();
    }
    w.end();

    w.begin("timer");
    static const char kTimerCompat[] = "arm,armv8-timer\0arm,armv7-timer";
    w.raw("compatible", kTimerCompat, sizeof kTimerCompat);
    // Secure phys, non-secure phys, virtual, hypervisor: PPIs 13, 14, 11, 10 (INTIDs 29, 30, 27,
    // 26).
    w.cells("interrupts", {kIrqPpi, 13, kIrqLevelHigh, kIrqPpi, 14, kIrqLevelHigh, kIrqPpi, 11,
                           kIrqLevelHigh, kIrqPpi, 10, kIrqLevelHigh});
    w.empty("always-on");
    w.end();

    w.begin("apb-pclk");
    w.str("compatible", "fixed-clock");
    w.u32p("#clock-cells", 0);
    w.u32p("clock-frequency", 24000000);
    w.str("clock-output-names", "clk24mhz");
    w.u32p("phandle", kClkPhandle);
    w.end();

    w.begin("pl011@9000000");
    static const char kUartCompat[] = "arm,pl011\0arm,primecell";
    w.raw("compatible", kUartCompat, sizeof kUartCompat);
    w.cells("reg", {0, lo(kGuestUartIpa), 0, lo(kGuestUartSize)});
    w.cells("interrupts", {kIrqSpi, kVuartSpi - 32, kIrqLevelHigh});
    w.cells("clocks", {kClkPhandle, kClkPhandle});
    static const char kClockNames[] = "uartclk\0apb_pclk";
    w.raw("clock-names", kClockNames, sizeof kClockNames);
    w.end();

    w.begin("pl061@9030000");
    static const char kGpioCompat[] = "arm,pl061\0arm,primecell";
    w.raw("compatible", kGpioCompat, sizeof kGpioCompat);
    w.cells("reg", {0, lo(kGuestGpioIpa), 0, lo(kGuestGpioSize)});
    w.cells("interrupts", {kIrqSpi, kGpioSpi - 32, kIrqLevelHigh});
    w.empty("gpio-controller");
    w.u32p("#gpio-cells", 2);
    w.cells("clocks", {kClkPhandle});
    w.str("clock-names", "apb_pclk");
    w.u32p("phandle", kGpioPhandle);
    w.end();
    w.begin("gpio-keys");
    w.str("compatible", "gpio-keys");
    w.begin("poweroff");
    w.str("label", "GPIO Key Poweroff");
    w.u32p("linux,code", kKeyPower);
    w.cells("gpios", {kGpioPhandle, kGpioPowerLine, kGpioActiveHigh});
    w.end();
    w.end();
    if (in.pci) {
        // Generic ECAM host bridge (Linux: pci-host-generic): bus 0 with a hot-plug root port
        // per slot (buses 1..kGuestPciSlots behind them), one 32-bit memory window where Keel
        // maps the VFs' BARs; no INTx (the ports and VFs signal MSIs). BARs and bridge windows
        // stay where Keel put them: linux,pci-probe-only in /chosen.
        static_assert(kGuestPciSlots * MiB == arch::kGuestPciWindowSize);
        w.begin("pcie@3f000000");
        w.str("compatible", "pci-host-ecam-generic");
        w.str("device_type", "pci");
        w.cells("reg", {0, lo(kGuestEcamIpa), 0, lo(kGuestEcamSize)});
        w.cells("bus-range", {0, kGuestPciSlots});
        w.u32p("#address-cells", 3);
        w.u32p("#size-cells", 2);
        const u64 win = arch::kGuestPciWindow.raw();
        w.cells("ranges", {0x02000000u, hi(win), lo(win), hi(win), lo(win), 0,
                           lo(arch::kGuestPciWindowSize)});
        w.u32p("linux,pci-domain", 0);
        w.u32p("msi-parent", kMsiPhandle);
        w.empty("dma-coherent");
        w.end();
    }
    w.begin("chosen");
    w.str("bootargs", in.bootargs);
    if (in.pci) w.u32p("linux,pci-probe-only", 1);
    w.str("stdout-path", "/pl011@9000000");
    if (in.initrd_end > in.initrd_start) {
        w.cells("linux,initrd-start", {hi(in.initrd_start), lo(in.initrd_start)});
        w.cells("linux,initrd-end", {hi(in.initrd_end), lo(in.initrd_end)});
    }
    w.end();

    w.end();
    if (!w.err) w.err = fdt_finish(buf);
    return w.err ? Status::NoMemory : Status::Ok;
}

} // namespace keel::arm64
