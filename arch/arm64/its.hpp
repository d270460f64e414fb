// The physical GICv3 ITS (Arm IHI 0069 ch. 5 and 12.19-12.20: GITS_* registers, the command
// queue, MAPD/MAPC/MAPTI/INV/SYNC/DISCARD) and LPIs on the boot core's redistributor
// (12.11: GICR_PROPBASER, GICR_PENDBASER, GICR_CTLR.EnableLPIs): what turns an assigned VF's
// MSI-X write into an interrupt Keel owns (docs/sriov.md "MSI-X"). Every LPI is collected
// on the boot core, which polls for it (its_next) and hands it to the VM it belongs to. Flat
// one-page device and collection tables: device IDs below 512 (QEMU virt's ITS IDs are the
// requester IDs of bus 0). Boot core only.
#pragma once

#include "hypervisor/platform.hpp"

namespace keel::arm64 {

constexpr u32 kLpiBase = 8192;
constexpr u32 kLpiCount = 64; // LPIs Keel hands out (8192..8255)

// Where the ITS is (Platform::its_base; 0: none), recorded at boot; nothing is touched
// until the first assigned VF needs MSIs.
void its_found(u64 base);
// Brings up that ITS and LPIs on this (the boot) core, once. NotFound without an ITS.
Status its_init();
[[nodiscard]] bool its_ready();
// The doorbell a device writes its event ID to (GITS_TRANSLATER's physical address).
[[nodiscard]] u64 its_doorbell();
// Device `device_id`'s events 0..events-1 to fresh LPIs collected on the boot core; *first
// = the LPI of event 0 (the rest follow). NoMemory when LPIs or ITT space run out.
Status its_map_device(u32 device_id, u32 events, u32* first);
// The device's mapping gone (MAPD V=0; its LPIs return to the free set).
void its_unmap_device(u32 device_id);
// The next pending LPI on this core, acknowledged and ended; 0 if none. LPIs handed over by
// its_defer come first. Any other interrupt found pending here is ended as well (the boot
// core owns none), except while the boot core runs a vCPU (bench mode): then only the
// handed-over LPIs are returned.
u32 its_next();
// An LPI the vCPU loop acknowledged and ended while the boot core ran a guest (bench mode,
// `keel.bench`: the boot core is then a VM's core too), kept for its_next. False when the
// 16 kept ones are full (the message is lost; cannot happen while the loop drains them
// after each exit).
bool its_defer(u32 lpi);
// Whether deferred LPIs wait for its_next.
[[nodiscard]] bool its_deferred();

} // namespace keel::arm64
