// GICv3 register offsets and fields Keel uses, physical and virtual (Arm IHI 0069,
// "GIC architecture specification v3/v4": 12.9 distributor, 12.10/12.11 redistributor,
// 12.4-12.8 CPU interface system registers, 12.5 ICH_* virtualization registers).
#pragma once

#include "hypervisor/types.hpp"

namespace keel::arm64::gic {

// Distributor (GICD_*), 64 KiB frame.
constexpr u64 kGicdSize = 0x10000;
constexpr u32 kGicdCtlr = 0x0000, kGicdTyper = 0x0004, kGicdIidr = 0x0008, kGicdTyper2 = 0x000c;
constexpr u32 kGicdIgroupr = 0x0080, kGicdIsenabler = 0x0100, kGicdIcenabler = 0x0180;
constexpr u32 kGicdIspendr = 0x0200, kGicdIcpendr = 0x0280, kGicdIsactiver = 0x0300;
constexpr u32 kGicdIcactiver = 0x0380, kGicdIpriorityr = 0x0400, kGicdIcfgr = 0x0c00;
constexpr u32 kGicdIgrpmodr = 0x0d00, kGicdIrouter = 0x6000, kPidr2 = 0xffe8;
constexpr u32 kGicdCtlrRwp = 1u << 31;
constexpr u32 kGicdCtlrEnableGrp0 = 1u << 0, kGicdCtlrEnableGrp1 = 1u << 1, kGicdCtlrAre = 1u << 4;
constexpr u32 kGicdCtlrDs = 1u << 6; // single security state (no EL3 in the picture)
constexpr u32 kPidr2ArchV3 = 0x30;   // PIDR2.ArchRev = 3 ([7:4])

// Redistributor: RD_base frame, then SGI_base frame, 64 KiB each (GICv3 without VLPIs).
constexpr u64 kGicrFrame = 0x20000;
constexpr u64 kGicrSgiBase = 0x10000;
constexpr u32 kGicrCtlr = 0x0000, kGicrIidr = 0x0004, kGicrTyper = 0x0008, kGicrWaker = 0x0014;
constexpr u64 kGicrTyperLast = 1ull << 4;
constexpr u32 kGicrWakerProcessorSleep = 1u << 1, kGicrWakerChildrenAsleep = 1u << 2;
// SGI_base registers share the GICD offsets for INTIDs 0-31 (IGROUPR0, ISENABLER0, ...).

// INTIDs (GIC 2.2): SGIs 0-15, PPIs 16-31, SPIs from 32.
constexpr u32 kSpiBase = 32;
constexpr u32 kIntidSpurious = 1020;
constexpr u32 kPpiMaintenance = 25; // ICH maintenance interrupt (Arm BSA PPI assignment)
constexpr u32 kPpiVirtTimer = 27;   // EL1 virtual timer (CNTV)
constexpr u32 kPpiPhysTimer = 30;   // EL1 physical timer (CNTP), non-secure
// The guest's timers: HW-linked list registers (12.4.4), the physical PPI forwarded.
constexpr u32 kGuestTimerPpis = (1u << kPpiVirtTimer) | (1u << kPpiPhysTimer);
constexpr bool is_guest_timer(u32 intid) { return intid < 32 && (kGuestTimerPpis >> intid) & 1; }
constexpr u32 kSgiKick = 8; // Keel's "re-evaluate your vCPU's interrupts" SGI

// ICC_SRE_EL2 (12.2.15): SRE, DFB, DIB, Enable (EL1 may use the system registers).
constexpr u64 kIccSreEl2 = 0xf;
constexpr u64 kIccCtlrEoiMode = 1ull << 1; // EOIR drops priority only; DIR deactivates

// ICH_HCR_EL2 (12.5.5).
constexpr u64 kIchHcrEn = 1ull << 0;
constexpr u64 kIchHcrUie = 1ull << 1; // maintenance IRQ while <= 1 list register is valid

// ICH_LR<n>_EL2 (12.5.8).
constexpr u64 kLrStatePending = 1ull << 62, kLrStateActive = 2ull << 62, kLrStateMask = 3ull << 62;
constexpr u64 kLrHw = 1ull << 61, kLrGroup1 = 1ull << 60, kLrEoi = 1ull << 41;
constexpr unsigned kLrPriorityShift = 48, kLrPintidShift = 32;
constexpr u64 kLrVintidMask = 0xffffffffull;

// ICC_SGI1R_EL1 (12.2.22): TargetList[15:0], Aff1[23:16], INTID[27:24], Aff2[39:32],
// IRM[40], RS[47:44], Aff3[55:48].
constexpr u64 sgi1r(u32 intid, u64 mpidr) {
    const u64 aff0 = mpidr & 0xff, aff1 = (mpidr >> 8) & 0xff, aff2 = (mpidr >> 16) & 0xff,
              aff3 = (mpidr >> 32) & 0xff;
    return (1ull << (aff0 & 0xf)) | (aff1 << 16) | (u64(intid & 0xf) << 24) | (aff2 << 32) |
           ((aff0 >> 4) << 44) | (aff3 << 48);
}
static_assert(sgi1r(8, 0x3) == 0x8000008ull, "SGI 8 to Aff0 3");

} // namespace keel::arm64::gic
