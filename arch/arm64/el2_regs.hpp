// EL2 control registers Keel programs for running guests, as named values (ARM ARM
// DDI 0487, D17.2 "General system control registers"; non-VHE layouts, HCR_EL2.E2H = 0).
#pragma once

#include "hypervisor/types.hpp"

namespace keel::arm64 {

// HCR_EL2 (D17.2.48).
struct HcrEl2 {
    static constexpr u64 kVm = 1ull << 0;   // stage-2 translation on
    static constexpr u64 kSwio = 1ull << 1; // set/way invalidate becomes clean+invalidate
    static constexpr u64 kFmo = 1ull << 3;  // physical FIQ to EL2
    static constexpr u64 kImo = 1ull << 4;  // physical IRQ to EL2
    static constexpr u64 kAmo = 1ull << 5;  // SError to EL2
    static constexpr u64 kTwi = 1ull << 13; // trap WFI
    static constexpr u64 kTwe = 1ull << 14; // trap WFE
    static constexpr u64 kTsc = 1ull << 19; // trap SMC: the guest never reaches firmware
    static constexpr u64 kRw = 1ull << 31;  // EL1 is AArch64
    // WFI/WFE are not trapped: a core belongs to exactly one vCPU, so letting it idle in
    // hardware costs nobody anything and saves an exit per idle period.
    static constexpr u64 kGuest = kVm | kSwio | kFmo | kImo | kAmo | kTsc | kRw;
};

// VTCR_EL2 (D17.2.171): 39-bit IPA, walk from level 1, 4 KiB granule, WB-WA walks.
struct VtcrEl2 {
    static constexpr u64 kT0sz = 64 - 39;        // [5:0]
    static constexpr u64 kSl0Level1 = 1ull << 6; // [7:6] = 1: start at level 1 (4 KiB granule)
    static constexpr u64 kIrgn0Wb = 1ull << 8;
    static constexpr u64 kOrgn0Wb = 1ull << 10;
    static constexpr u64 kSh0Inner = 3ull << 12;
    static constexpr u64 kTg0_4k = 0ull << 14;
    static constexpr unsigned kPsShift = 16; // [18:16] output size, PARange encoding
    static constexpr u64 kRes1 = 1ull << 31;
    static constexpr u64 kBase =
        kT0sz | kSl0Level1 | kIrgn0Wb | kOrgn0Wb | kSh0Inner | kTg0_4k | kRes1;
    static constexpr u64 make(u64 parange) { return kBase | (parange << kPsShift); }
};
static_assert(VtcrEl2::make(2) == 0x80023559ull,
              "VTCR_EL2: T0SZ 25, SL0 1, WB, ISH, 4K, PS 40-bit");

// CPTR_EL2 (D17.2.31, non-VHE). RES1 [13], [9], [7:0]; TZ [8] = 0, TFP [10] = 0 and
// TSM [12] = 0: FP/SIMD/SVE/SME stay with the guest (Linux probes SME on -cpu max and
// must not trap). Each core runs one vCPU and the hypervisor is built
// -mgeneral-regs-only, so the FP registers are never anyone else's: no trap, no switch.
struct CptrEl2 {
    static constexpr u64 kRes1 = (1ull << 13) | (1ull << 9) | 0xffull;
    static constexpr u64 kGuest = kRes1;
};

// MDCR_EL2 (D17.2.96). Self-hosted debug is the guest's: the breakpoint, watchpoint,
// MDSCR_EL1 and OS lock registers are not trapped (TDA = TDOSA = 0) and debug exceptions
// go to EL1 (TDE = 0), which also disables them at EL2 (D2.4: EL2 is above the debug
// target EL). With one vCPU per core they stay live like the FP registers and are reset
// when a vCPU starts (core_reset.cpp). Only MDRAR_EL1 (the physical address of the debug
// ROM table) is trapped (TDRA) and reads as zero, "not valid". The PMU is passed through
// the same way (HPMN = all counters, TPM = TPMCR = 0).
struct MdcrEl2 {
    static constexpr u64 kTdosa = 1ull << 10;
    static constexpr u64 kTda = 1ull << 9;
    static constexpr u64 kTdra = 1ull << 11;
    static constexpr u64 kTde = 1ull << 8;
    static constexpr u64 make(u64 pmu_counters) { return kTdra | (pmu_counters & 0x1f); }
};
static_assert((MdcrEl2::make(31) & (MdcrEl2::kTda | MdcrEl2::kTdosa | MdcrEl2::kTde)) == 0,
              "debug registers and exceptions are the guest's (issue 10 item 16)");

// CNTHCTL_EL2 (D17.2.24, non-VHE): EL1 may read the physical counter and use the
// physical timer (EL1PCTEN, EL1PCEN). CNTVOFF_EL2 = 0: virtual == physical count.
struct CnthctlEl2 {
    static constexpr u64 kEl1pcten = 1ull << 0;
    static constexpr u64 kEl1pcen = 1ull << 1;
    static constexpr u64 kGuest = kEl1pcten | kEl1pcen;
};

// VTTBR_EL2 (D17.2.172): table base and VMID in [55:48] (8-bit VMIDs).
constexpr u64 vttbr(u64 root, u16 vmid) { return root | (static_cast<u64>(vmid & 0xff) << 48); }

// SPSR value for entering a guest at EL1h with DAIF masked (C5.2.19).
constexpr u64 kSpsrEl1h = 0x5;
constexpr u64 kSpsrDaif = 0xfull << 6;
constexpr u64 kGuestEntryPstate = kSpsrEl1h | kSpsrDaif;

// Programs HCR/VTCR/CPTR/MDCR/CNTHCTL/CNTVOFF/VPIDR on the calling core (once per core).
void el2_setup_for_guests();

} // namespace keel::arm64
