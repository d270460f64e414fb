#include "el2_regs.hpp"
#include "sysreg.hpp"

namespace keel::arm64 {

void el2_setup_for_guests() {
    u64 parange = KEEL_READ_SYSREG(id_aa64mmfr0_el1) & 0xf;
    if (parange > 5) parange = 5; // 52-bit output needs LPA2 descriptors; 48 is the 4K maximum
    u64 dfr0 = KEEL_READ_SYSREG(id_aa64dfr0_el1);
    u64 pmuver = (dfr0 >> 8) & 0xf;
    u64 counters = 0;
    if (pmuver != 0 && pmuver != 0xf) counters = (KEEL_READ_SYSREG(pmcr_el0) >> 11) & 0x1f;
    KEEL_WRITE_SYSREG(vtcr_el2, VtcrEl2::make(parange));
    KEEL_WRITE_SYSREG(cptr_el2, CptrEl2::kGuest);
    KEEL_WRITE_SYSREG(mdcr_el2, MdcrEl2::make(counters));
    KEEL_WRITE_SYSREG(cnthctl_el2, CnthctlEl2::kGuest);
    KEEL_WRITE_SYSREG(cntvoff_el2, 0);
    KEEL_WRITE_SYSREG(vpidr_el2, KEEL_READ_SYSREG(midr_el1));
    KEEL_WRITE_SYSREG(vttbr_el2, 0);
    KEEL_WRITE_SYSREG(hcr_el2, HcrEl2::kGuest);
    isb();
}

} // namespace keel::arm64
