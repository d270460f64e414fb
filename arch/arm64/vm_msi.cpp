// MSIs of assigned VFs (docs/sriov.md "MSI-X"), arm64: the host side through the physical ITS
// (its.cpp: each VF event an LPI collected on the boot core), brought up on first use; the
// guest side a virtual GICv2m frame (IHI 0048B-style MSI frame as Linux's irq-gic-v2m.c
// drives it: MSI_TYPER at 0x008 = first SPI [25:16] and count [9:0], MSI_SETSPI_NS at 0x040
// takes the SPI to raise, MSI_IIDR at 0xfcc), trapped, raising edges on the vGIC.
#include <arch/vm.hpp>

#include "gic_regs.hpp"
#include "guest_map.hpp"
#include "its.hpp"
#include "vgic.hpp"
#include "vgpio.hpp"
#include "vm_msi.hpp"

namespace keel::arm64 {
namespace {
constexpr u64 kTyper = 0x008, kSetSpi = 0x040, kIidr = 0xfcc;
static_assert(arch::kGuestMsiDoorbell == kGuestMsiFrameIpa + kSetSpi);
static_assert(arch::kGuestMsiFirst == 48 && arch::kGuestMsiCount == 16,
              "arch::kGuestMsiTarget names SPIs 48..63");
static_assert(arch::kGuestMsiFirst > kGpioSpi && arch::kGuestMsiFirst > kVuartSpi &&
              arch::kGuestMsiFirst + arch::kGuestMsiCount <= gic::kSpiBase + kVgicSpis);
} // namespace

bool msi_frame_mmio(Vcpu& v, u64 off, bool write, u64* value) {
    if (write) {
        const u32 spi = static_cast<u32>(*value);
        if (off == kSetSpi && spi >= arch::kGuestMsiFirst &&
            spi < arch::kGuestMsiFirst + arch::kGuestMsiCount)
            vgic_spi_edge(*v.vm, spi);
        return off == kSetSpi; // other writes: the frame has no other register
    }
    if (off == kTyper)
        *value = (arch::kGuestMsiFirst << 16) | arch::kGuestMsiCount;
    else if (off == kIidr || off < 0x1000)
        *value = 0;
    return true;
}

} // namespace keel::arm64

namespace keel::arch {

Status msi_map(u32 device_id, u32 vectors, u64* doorbell, u32* first) {
    const Status s = arm64::its_init();
    if (s != Status::Ok) return s == Status::NotFound ? Status::Unsupported : s;
    KEEL_TRY(arm64::its_map_device(device_id, vectors, first));
    *doorbell = arm64::its_doorbell();
    return Status::Ok;
}

void msi_unmap(u32 device_id) {
    if (arm64::its_ready()) arm64::its_unmap_device(device_id);
}

u32 msi_next() { return arm64::its_ready() ? arm64::its_next() : 0; }

bool guest_msi(u64 address, u32 data, u32* intid) {
    if (address != kGuestMsiDoorbell || data < kGuestMsiFirst ||
        data >= kGuestMsiFirst + kGuestMsiCount)
        return false;
    *intid = data;
    return true;
}

void vm_raise_msi(Vm& vm, u32 intid) {
    if (intid >= kGuestMsiFirst && intid < kGuestMsiFirst + kGuestMsiCount)
        arm64::vgic_spi_edge(vm, intid);
}

} // namespace keel::arch
