// Virtual GICv3 for one VM (IHI 0069 chapter 12, "virtualization"): the distributor
// and each vCPU's redistributor are emulated through stage-2 data aborts; the CPU
// interface is the hardware's virtual one (ICV_* registers behind HCR_EL2.IMO/FMO),
// fed through the list registers. One vCPU per core, so the list registers, ICH_VMCR
// and ICH_AP*R stay live in hardware for the vCPU's whole life.
//
//   device / other vCPU --set pending bit (atomic), DSB, kick SGI--> target core exits
//     (at EL2 with IRQs masked the SGI stays pending: it exits right after the ERET)
//   target core, before every entry: vgic_flush(): pending & enabled -> LRs as
//     vgic_lr.hpp plans; the rest waits (ICH_HCR_EL2.UIE: maintenance IRQ as LRs drain)
//   maintenance PPI 25 is a level (IHI 0069 12.5.10 ICH_MISR_EL2): vgic_irq_exit()
//     retires its cause before deactivating it, or EL2 would acknowledge it forever
//
// The guest's timers, virtual (PPI 27) and EL1 physical (PPI 30), are HW-linked: the
// guest programs CNTV_* / CNTP_* directly (CNTHCTL_EL2.EL1PCEN, el2_regs.hpp; Keel
// itself uses no timer), the physical PPI stays active (EOImode = 1, priority dropped
// only) until the guest deactivates the virtual one.
#pragma once

#include "hypervisor/types.hpp"

namespace keel {
struct Vm;
}

namespace keel::arm64 {

struct Vcpu;

constexpr u32 kVgicSpis = 32;     // INTIDs 32..63 (GICD_TYPER.ITLinesNumber = 1)
constexpr u32 kVuartSpi = 32 + 1; // PL011 on SPI 1, as on QEMU virt
constexpr u64 kGuestGicdIpa = 0x08000000;
constexpr u64 kGuestGicrIpa = 0x080a0000;

// Per vCPU: SGIs and PPIs (the redistributor's SGI_base frame). Bitmaps are accessed
// atomically: any of the VM's cores may write them.
struct VgicCpu {
    u32 enabled;
    u32 pending;
    u32 group;
    u32 icfgr1;
    u32 waker;
    u8 priority[32];
    u64 hcr; // ICH_HCR_EL2 as last written; the owning core only
};

// Per VM: the distributor and its SPIs.
struct VgicDist {
    u32 ctlr;
    u32 enabled, pending, level, group;
    u32 icfgr[2];
    u8 priority[kVgicSpis];
    u64 irouter[kVgicSpis];
};

void vgic_init(VgicDist& d);
void vgic_cpu_init(VgicCpu& c);
// This core's list registers (up to 16) and ICH_AP1R0_EL2, as the guest left them: a live
// update's record of the in-flight virtual interrupts (docs/handover.md §2.2 Vcpu).
void vgic_save_lrs(u64 (&lr)[16], u32* n, u32* ap1r0);
// Emulated access to GICD/GICR; false if `ipa` is neither.
bool vgic_mmio(Vcpu& v, u64 ipa, bool write, u8 size, u64* value);
// The guest wrote ICC_SGI1R_EL1 (trapped): pend the SGI on the targeted vCPUs.
void vgic_sgi(Vcpu& v, u64 sgi1r);
// A level-sensitive SPI's line changed (the emulated UART).
void vgic_spi_level(Vm& vm, u32 intid, bool high);
// An edge on an SPI (an MSI through the guest's MSI frame): pending once.
void vgic_spi_edge(Vm& vm, u32 intid);
// On this vCPU's core: list registers from pending state; before every guest entry.
void vgic_flush(Vcpu& v);
// On this vCPU's core: a physical IRQ exit. Acknowledges everything pending.
void vgic_irq_exit(Vcpu& v);
// On this vCPU's core: the virtual interface on (first entry) / clean (vCPU stops).
void vgic_vcpu_start(Vcpu& v);
void vgic_vcpu_stop();

} // namespace keel::arm64
