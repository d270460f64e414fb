// The physical GICv3 as the hypervisor drives it: distributor enabled once by the boot
// core, each core's redistributor and CPU interface by that core, interrupts taken at
// EL2 (HCR_EL2.IMO/FMO) while a guest runs. See gic_phys.cpp.
#pragma once

#include "hypervisor/platform.hpp"
#include "hypervisor/types.hpp"

namespace keel::arm64 {

// Boot core, before secondaries start: maps GICD/GICR into EL2 and enables the distributor.
void gic_init_boot(const Platform& platform);
// Every core (boot core included), on itself: wakes its redistributor, enables the
// PPIs/SGIs the hypervisor takes (virtual timer, maintenance, kick) and its CPU interface.
void gic_init_this_cpu();
// Live update's incoming image: the same GIC taken over as the outgoing image left it
// (addresses from the platform, mapped; nothing written), and this core's redistributor.
void gic_adopt(const Platform& platform);
void gic_adopt_this_cpu();
// Sends the kick SGI to a core so it leaves its guest and re-evaluates interrupts.
void gic_kick(u32 core);
// Clears a PPI's active state on this core (a HW-linked virtual timer the guest never
// deactivated, at VM end).
void gic_deactivate_ppi(u32 intid);

} // namespace keel::arm64
