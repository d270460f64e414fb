// Physical GICv3 bring-up (IHI 0069 4.1 "Enabling the distribution of interrupts",
// 12.11.42 GICR_WAKER, 12.2.15 ICC_SRE_EL2). Groups: QEMU virt has no EL3, so the GIC
// has a single security state (GICD_CTLR.DS = 1) and everything is Group 1.
#include "gic_phys.hpp"

#include "gic_regs.hpp"
#include "hypervisor/panic.hpp"
#include "its.hpp"
#include "mmu.hpp"
#include "percpu.hpp"
#include "sysreg.hpp"

namespace keel::arm64 {
namespace {

u64 g_gicd = 0;
// Every redistributor range (the platform's first, then the others).
MmioRange g_gicr[1 + Platform::kMaxMoreRedist] = {};
u32 g_gicr_count = 0;

volatile u32& reg32(u64 addr) { return *reinterpret_cast<volatile u32*>(addr); }
volatile u64& reg64(u64 addr) { return *reinterpret_cast<volatile u64*>(addr); }

u64 my_redistributor() {
    const u64 mpidr = KEEL_READ_SYSREG(mpidr_el1);
    const u64 aff = (mpidr & 0xffffff) | ((mpidr >> 32) & 0xff) << 24; // GICR_TYPER[63:32] order
    for (u32 i = 0; i < g_gicr_count; ++i) {
        const MmioRange& r = g_gicr[i];
        for (u64 rd = r.base; rd < r.base + r.size; rd += gic::kGicrFrame) {
            const u64 typer = reg64(rd + gic::kGicrTyper);
            if ((typer >> 32) == aff) return rd;
            if (typer & gic::kGicrTyperLast) break; // the last frame of this range
        }
    }
    return 0;
}

} // namespace

namespace {
void take_addresses(const Platform& p) {
    g_gicd = p.irq_dist_base;
    its_found(p.its_base); // brought up only when an assigned VF needs MSIs (its.hpp)
    g_gicr[0] = MmioRange{p.irq_redist_base, p.irq_redist_size};
    for (u32 i = 0; i < p.redist_more_count; ++i)
        g_gicr[1 + i] = p.redist_more[i];
    g_gicr_count = 1 + p.redist_more_count;
    if (el2_map(g_gicd, gic::kGicdSize, MapKind::Device) != Status::Ok) panic("cannot map the GIC");
    for (u32 i = 0; i < g_gicr_count; ++i)
        if (el2_map(g_gicr[i].base, g_gicr[i].size, MapKind::Device) != Status::Ok)
            panic("cannot map the GIC redistributors at %#llx",
                  static_cast<unsigned long long>(g_gicr[i].base));
}
} // namespace

void gic_adopt(const Platform& p) { take_addresses(p); }

void gic_adopt_this_cpu() {
    const u64 rd = my_redistributor();
    if (rd == 0) panic("no GIC redistributor for this core");
    this_cpu().gicr = rd;
}

void gic_init_boot(const Platform& p) {
    if (p.irq_kind != IrqControllerKind::GicV3) panic("arm64 VMs need a GICv3");
    // The guest's timers are forwarded as fixed PPIs (the Arm BSA assignment). Firmware that
    // wires them elsewhere (GTDT, or the device tree's timer node) is refused, not guessed.
    if (p.timers.virt != 0 &&
        (p.timers.virt != gic::kPpiVirtTimer || p.timers.phys != gic::kPpiPhysTimer))
        panic(
            "generic timers on INTIDs virt %u phys %u, but Keel forwards virt %u phys %u (Arm BSA)",
            p.timers.virt, p.timers.phys, gic::kPpiVirtTimer, gic::kPpiPhysTimer);
    take_addresses(p);
    reg32(g_gicd + gic::kGicdCtlr) = 0;
    while (reg32(g_gicd + gic::kGicdCtlr) & gic::kGicdCtlrRwp) {
    }
    // Affinity routing on, both groups on. SPIs stay disabled: none is the hypervisor's.
    reg32(g_gicd + gic::kGicdCtlr) =
        gic::kGicdCtlrAre | gic::kGicdCtlrEnableGrp1 | gic::kGicdCtlrEnableGrp0;
    while (reg32(g_gicd + gic::kGicdCtlr) & gic::kGicdCtlrRwp) {
    }
}

void gic_init_this_cpu() {
    const u64 rd = my_redistributor();
    if (rd == 0) panic("no GIC redistributor for this core");
    this_cpu().gicr = rd;
    reg32(rd + gic::kGicrWaker) = reg32(rd + gic::kGicrWaker) & ~gic::kGicrWakerProcessorSleep;
    while (reg32(rd + gic::kGicrWaker) & gic::kGicrWakerChildrenAsleep) {
    }
    const u64 sgi = rd + gic::kGicrSgiBase;
    const u32 mine = gic::kGuestTimerPpis | (1u << gic::kPpiMaintenance) | (1u << gic::kSgiKick);
    reg32(sgi + gic::kGicdIcenabler) = ~0u;
    reg32(sgi + gic::kGicdIgroupr) = ~0u;
    for (u32 i = 0; i < 8; ++i)
        reg32(sgi + gic::kGicdIpriorityr + 4 * i) = 0x80808080;
    reg32(sgi + gic::kGicdIsenabler) = mine;
    KEEL_WRITE_SYSREG(S3_4_C12_C9_5, gic::kIccSreEl2); // ICC_SRE_EL2
    isb();
    KEEL_WRITE_SYSREG(S3_0_C4_C6_0, 0xff);                   // ICC_PMR_EL1: let everything in
    KEEL_WRITE_SYSREG(S3_0_C12_C12_4, gic::kIccCtlrEoiMode); // ICC_CTLR_EL1
    KEEL_WRITE_SYSREG(S3_0_C12_C12_7, 1);                    // ICC_IGRPEN1_EL1
    isb();
}

void gic_kick(u32 core) {
    dsb_ish(); // the state the target will read is visible before the SGI
    KEEL_WRITE_SYSREG(S3_0_C12_C11_5, gic::sgi1r(gic::kSgiKick, cpu(core).mpidr)); // ICC_SGI1R_EL1
    isb();
}

void gic_deactivate_ppi(u32 intid) {
    const u64 rd = this_cpu().gicr;
    reg32(rd + gic::kGicrSgiBase + gic::kGicdIcactiver) = 1u << intid;
    dsb_ish();
}

} // namespace keel::arm64
