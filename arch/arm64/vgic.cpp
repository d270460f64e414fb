// Virtual GICv3: list-register management, physical IRQ exits and guest SGIs (see
// vgic.hpp for the flow). Register emulation is in vgic_mmio.cpp.
#include "vgic.hpp"

#include "gic_phys.hpp"
#include "gic_regs.hpp"
#include "its.hpp"
#include "percpu.hpp"
#include "sysreg.hpp"
#include "vgic_lr.hpp"
#include "vm_arch.hpp"

namespace keel::arm64 {
namespace {

using namespace gic;

// ICH_LR<n>_EL2: op0 3, op1 4, CRn 12, CRm 12 (LR0-7) / 13 (LR8-15), op2 n & 7.
// One case a line: the formatter does not settle on this macro.
// clang-format off
#define KEEL_LR_CASES(X) \
    X(0, 12, 0) \
    X(1, 12, 1) \
    X(2, 12, 2) \
    X(3, 12, 3) \
    X(4, 12, 4) \
    X(5, 12, 5) \
    X(6, 12, 6) \
    X(7, 12, 7) \
    X(8, 13, 0) \
    X(9, 13, 1) \
    X(10, 13, 2) \
    X(11, 13, 3) \
    X(12, 13, 4) \
    X(13, 13, 5) \
    X(14, 13, 6) \
    X(15, 13, 7)
// clang-format on

u64 read_lr(u32 i) {
    switch (i) {
#define KEEL_RD(n, crm, op2)                                                                       \
    case n: return KEEL_READ_SYSREG(S3_4_C12_C##crm##_##op2);
        KEEL_LR_CASES(KEEL_RD)
#undef KEEL_RD
    }
    return 0;
}

void write_lr(u32 i, u64 v) {
    switch (i) {
#define KEEL_WR(n, crm, op2)                                                                       \
    case n: KEEL_WRITE_SYSREG(S3_4_C12_C##crm##_##op2, v); break;
        KEEL_LR_CASES(KEEL_WR)
#undef KEEL_WR
    }
}

u32 lr_count() {
    return static_cast<u32>(KEEL_READ_SYSREG(S3_4_C12_C11_1) & 0xf) + 1;
} // ICH_VTR_EL2

void kick(const Vcpu& t) {
    if (__atomic_load_n(&t.on, __ATOMIC_ACQUIRE) && t.core != this_cpu().index) gic_kick(t.core);
}

// Of the SPIs in `cand`, those routed to vCPU `index` (GICD_IROUTER Aff0; IRM = "any"
// goes to vCPU 0). Only the candidates are looked at: usually none or one.
u32 spis_routed_to(const VgicDist& d, u32 index, u32 cand) {
    u32 m = 0;
    for (; cand; cand &= cand - 1) {
        const u32 i = static_cast<u32>(__builtin_ctz(cand));
        const u64 r = __atomic_load_n(&d.irouter[i], __ATOMIC_RELAXED);
        const u32 target = (r & (1ull << 31)) ? 0 : static_cast<u32>(r & 0xff);
        if (target == index) m |= 1u << i;
    }
    return m;
}

void write_hcr(VgicCpu& g, u64 hcr) {
    if (g.hcr == hcr) return;
    g.hcr = hcr;
    KEEL_WRITE_SYSREG(S3_4_C12_C11_0, hcr); // ICH_HCR_EL2
}

} // namespace

void vgic_init(VgicDist& d) {
    d = VgicDist{};
    for (u8& p : d.priority)
        p = 0xa0;
}

void vgic_cpu_init(VgicCpu& c) {
    c = VgicCpu{};
    c.waker = kGicrWakerProcessorSleep | kGicrWakerChildrenAsleep;
    for (u8& p : c.priority)
        p = 0xa0;
}

void vgic_flush(Vcpu& v) {
    VgicCpu& g = v.gic;
    VgicDist& d = v.vm->arch.dist;
    const u32 ppi = __atomic_load_n(&g.pending, __ATOMIC_ACQUIRE) &
                    __atomic_load_n(&g.enabled, __ATOMIC_ACQUIRE);
    const u32 spi_level = __atomic_load_n(&d.level, __ATOMIC_ACQUIRE);
    u32 spi = (__atomic_load_n(&d.pending, __ATOMIC_ACQUIRE) | spi_level) &
              __atomic_load_n(&d.enabled, __ATOMIC_ACQUIRE);
    if (spi)
        spi = (__atomic_load_n(&d.ctlr, __ATOMIC_ACQUIRE) & kGicdCtlrEnableGrp1)
                  ? spis_routed_to(d, v.index, spi)
                  : 0;
    const u64 want = ppi | (static_cast<u64>(spi) << 32);
    if (want == 0) { // the common exit: nothing to deliver, LRs as the guest left them
        write_hcr(g, kIchHcrEn);
        return;
    }
    LrPlan p;
    p.n = lr_count();
    for (u32 i = 0; i < p.n; ++i)
        p.lr[i] = read_lr(i);
    const u64 group1 = static_cast<u64>(g.group) | (static_cast<u64>(d.group) << 32);
    lr_plan(p, want, static_cast<u64>(spi_level) << 32, group1, g.priority, d.priority);
    for (u32 i = 0; i < p.n; ++i)
        if (p.dirty & (1u << i)) write_lr(i, p.lr[i]);
    // Clear what the LRs now hold. An edge another core set since our load is for an
    // INTID listed Pending (or Active+Pending) just now, so it merges (GIC 4.2).
    if (const u32 c = static_cast<u32>(p.consumed))
        __atomic_fetch_and(&g.pending, ~c, __ATOMIC_ACQ_REL);
    if (const u32 c = static_cast<u32>(p.consumed >> 32))
        __atomic_fetch_and(&d.pending, ~c, __ATOMIC_ACQ_REL);
    write_hcr(g, kIchHcrEn | (p.waiting ? kIchHcrUie : 0));
}

void vgic_irq_exit(Vcpu& v) {
    // Bounded: anything still pending after this takes the core out of the guest again
    // right after the ERET, so EL2 can never spin here.
    for (u32 n = 0; n < 8; ++n) {
        const u32 id =
            static_cast<u32>(KEEL_READ_SYSREG(S3_0_C12_C12_0) & 0xffffff); // ICC_IAR1_EL1
        if (id >= kIntidSpurious && id < kLpiBase) break; // 1020..1023: nothing (more) pending
        KEEL_WRITE_SYSREG(S3_0_C12_C12_1, id);            // ICC_EOIR1_EL1: priority drop only
        if (is_guest_timer(id)) {
            // Stays active physically until the guest deactivates the HW-linked LR.
            __atomic_fetch_or(&v.gic.pending, 1u << id, __ATOMIC_ACQ_REL);
            continue;
        }
        if (id >= kLpiBase) {
            // An assigned VF's MSI, collected on the boot core, which runs this vCPU (bench
            // mode): kept for the VM manager's device poll (vcpu_run.cpp), which hands it
            // to its owner. An LPI has no active state: no deactivation.
            (void)its_defer(id);
            continue;
        }
        if (id == kPpiMaintenance) {
            // The maintenance interrupt is a level (IHI 0069 12.5.10 ICH_MISR_EL2): while
            // its cause holds (UIE with <= 1 valid LR, an EOI'd LR in ICH_EISR_EL2) it
            // re-pends the moment it is deactivated. Retire the causes first; the flush
            // before the next entry re-arms UIE if it still needs it.
            write_hcr(v.gic, kIchHcrEn);
            const u64 eisr = KEEL_READ_SYSREG(S3_4_C12_C11_3); // ICH_EISR_EL2
            for (u32 i = 0; i < lr_count(); ++i)
                if (eisr & (1ull << i)) write_lr(i, 0);
            isb();
        }
        // Kick SGIs only make us flush, which the entry path does.
        KEEL_WRITE_SYSREG(S3_0_C12_C11_1, id); // ICC_DIR_EL1
    }
    isb();
}

void vgic_sgi(Vcpu& v, u64 r) {
    VmContext& a = v.vm->arch;
    const u32 intid = static_cast<u32>((r >> 24) & 0xf);
    const bool all_but_self = (r >> 40) & 1;
    // Virtual MPIDRs are 0..n-1 in Aff0: Aff1-3 and RS must be zero.
    const bool aff_zero = ((r >> 16) & 0xff) == 0 && ((r >> 32) & 0xff) == 0 &&
                          ((r >> 44) & 0xf) == 0 && ((r >> 48) & 0xff) == 0;
    for (u32 i = 0; i < a.nvcpus; ++i) {
        Vcpu& t = a.vcpus[i];
        const bool hit = all_but_self ? &t != &v : aff_zero && ((r >> i) & 1);
        if (!hit) continue;
        __atomic_fetch_or(&t.gic.pending, 1u << intid, __ATOMIC_ACQ_REL);
        kick(t);
    }
}

void vgic_spi_level(Vm& vm, u32 intid, bool high) {
    VmContext& a = vm.arch;
    const u32 bit = 1u << (intid - 32);
    if (!high) {
        __atomic_fetch_and(&a.dist.level, ~bit, __ATOMIC_ACQ_REL);
        return;
    }
    const u32 old = __atomic_fetch_or(&a.dist.level, bit, __ATOMIC_ACQ_REL);
    if (old & bit) return;
    const u64 r = __atomic_load_n(&a.dist.irouter[intid - 32], __ATOMIC_RELAXED);
    const u32 target = (r & (1ull << 31)) ? 0 : static_cast<u32>(r & 0xff);
    if (target < a.nvcpus) kick(a.vcpus[target]);
}

void vgic_spi_edge(Vm& vm, u32 intid) {
    VmContext& a = vm.arch;
    __atomic_fetch_or(&a.dist.pending, 1u << (intid - 32), __ATOMIC_ACQ_REL);
    const u64 r = __atomic_load_n(&a.dist.irouter[intid - 32], __ATOMIC_RELAXED);
    const u32 target = (r & (1ull << 31)) ? 0 : static_cast<u32>(r & 0xff);
    if (target < a.nvcpus) kick(a.vcpus[target]);
}

void vgic_save_lrs(u64 (&lr)[16], u32* n, u32* ap1r0) {
    const u32 count = lr_count() < 16 ? lr_count() : 16;
    for (u32 i = 0; i < count; ++i)
        lr[i] = read_lr(i);
    *n = count;
    *ap1r0 = static_cast<u32>(KEEL_READ_SYSREG(S3_4_C12_C9_0)); // ICH_AP1R0_EL2
}

void vgic_vcpu_start(Vcpu& v) {
    for (u32 i = 0; i < lr_count(); ++i)
        write_lr(i, 0);
    KEEL_WRITE_SYSREG(S3_4_C12_C8_0, 0);  // ICH_AP0R0_EL2
    KEEL_WRITE_SYSREG(S3_4_C12_C9_0, 0);  // ICH_AP1R0_EL2
    KEEL_WRITE_SYSREG(S3_4_C12_C11_7, 0); // ICH_VMCR_EL2: guest's PMR/BPR/enables from reset
    KEEL_WRITE_SYSREG(S3_4_C12_C11_0, kIchHcrEn);
    isb();
    v.gic.hcr = kIchHcrEn;
}

void vgic_vcpu_stop() {
    // The guest's timers must not fire for the next owner of the core.
    KEEL_WRITE_SYSREG(cntv_ctl_el0, 0);
    KEEL_WRITE_SYSREG(cntp_ctl_el0, 0);
    KEEL_WRITE_SYSREG(S3_4_C12_C11_0, 0);
    for (u32 i = 0; i < lr_count(); ++i)
        write_lr(i, 0);
    KEEL_WRITE_SYSREG(S3_4_C12_C8_0, 0);
    KEEL_WRITE_SYSREG(S3_4_C12_C9_0, 0);
    KEEL_WRITE_SYSREG(S3_4_C12_C11_7, 0);
    isb();
    gic_deactivate_ppi(kPpiVirtTimer);
    gic_deactivate_ppi(kPpiPhysTimer);
}

} // namespace keel::arm64
