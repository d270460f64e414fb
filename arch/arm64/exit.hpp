// Guest exits decoded once, at the edge, into value types (ARM ARM D17.2.37 ESR_EL2;
// D17.2.50 HPFAR_EL2). Handlers switch on ExitReason and never shift ESR bits.
// Pure constexpr: included by the host unit tests.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::arm64 {

// Which of the 16 EL2 vectors took the exit (world_switch.S stores the index).
enum class ExitVector : u64 { LowerSync = 8, LowerIrq = 9, LowerFiq = 10, LowerSError = 11 };

// ESR_ELx.EC (D17.2.37, table "ESR_ELx.EC encoding").
namespace ec {
constexpr u32 kWfx = 0x01;
constexpr u32 kHvc64 = 0x16;
constexpr u32 kSmc64 = 0x17;
constexpr u32 kSysReg = 0x18;
constexpr u32 kInstAbortLower = 0x20;
constexpr u32 kInstAbortSame = 0x21;
constexpr u32 kDataAbortLower = 0x24;
constexpr u32 kDataAbortSame = 0x25;
} // namespace ec

enum class ExitReason : u32 {
    Hvc,
    Smc,
    SysReg,
    DataAbort,
    InstructionAbort,
    Wfx,
    Irq,
    Fiq,
    SError,
    Unknown,
};

struct Esr {
    u64 raw;
    [[nodiscard]] constexpr u32 ec() const { return static_cast<u32>((raw >> 26) & 0x3f); }
    [[nodiscard]] constexpr bool il32() const { return (raw >> 25) & 1; }
    [[nodiscard]] constexpr u32 iss() const { return static_cast<u32>(raw & 0x1ffffff); }
};

constexpr ExitReason classify_exit(u64 vector, Esr esr) {
    switch (static_cast<ExitVector>(vector)) {
    case ExitVector::LowerIrq: return ExitReason::Irq;
    case ExitVector::LowerFiq: return ExitReason::Fiq;
    case ExitVector::LowerSError: return ExitReason::SError;
    case ExitVector::LowerSync: break;
    default: return ExitReason::Unknown;
    }
    switch (esr.ec()) {
    case ec::kHvc64: return ExitReason::Hvc;
    case ec::kSmc64: return ExitReason::Smc;
    case ec::kSysReg: return ExitReason::SysReg;
    case ec::kDataAbortLower: return ExitReason::DataAbort;
    case ec::kInstAbortLower: return ExitReason::InstructionAbort;
    case ec::kWfx: return ExitReason::Wfx;
    default: return ExitReason::Unknown;
    }
}

// The faulting IPA of a stage-2 abort: HPFAR_EL2.FIPA [43:4] = IPA[55:12] (D17.2.50),
// the page offset from FAR_EL2.
constexpr u64 fault_ipa(u64 far, u64 hpfar) {
    return ((hpfar >> 4) & 0xffffffffffull) << 12 | (far & 0xfff);
}

// A stage-2 data abort (ISS encoding for EC 0x24, D17.2.37.10).
struct DataAbort {
    bool isv;         // ISS[24]: the fields below are valid (single GPR load/store)
    u8 size;          // bytes: 1 << SAS
    bool sign_extend; // SSE
    u8 srt;           // transfer register; 31 = xzr
    bool sf64;        // SF: 64-bit register
    bool write;       // WnR
    bool s1ptw;       // fault on the guest's own stage-1 table walk
    u8 dfsc;          // fault status code
    u64 far;          // guest virtual address (FAR_EL2)
    GuestPhys ipa;    // faulting IPA: HPFAR_EL2.FIPA page + FAR page offset

    static constexpr DataAbort decode(Esr esr, u64 far, u64 hpfar) {
        const u32 iss = esr.iss();
        const u64 ipa = fault_ipa(far, hpfar);
        return DataAbort{((iss >> 24) & 1) != 0,
                         static_cast<u8>(1u << ((iss >> 22) & 3)),
                         ((iss >> 21) & 1) != 0,
                         static_cast<u8>((iss >> 16) & 0x1f),
                         ((iss >> 15) & 1) != 0,
                         ((iss >> 6) & 1) != 0,
                         ((iss >> 7) & 1) != 0,
                         static_cast<u8>(iss & 0x3f),
                         far,
                         GuestPhys(ipa)};
    }
};

// A trapped MSR/MRS (ISS encoding for EC 0x18, D17.2.37.14).
struct SysRegAccess {
    bool read; // Direction: 1 = MRS
    u8 rt;
    u8 op0, op1, crn, crm, op2;
    static constexpr SysRegAccess decode(Esr esr) {
        const u32 iss = esr.iss();
        return SysRegAccess{(iss & 1) != 0,
                            static_cast<u8>((iss >> 5) & 0x1f),
                            static_cast<u8>((iss >> 20) & 3),
                            static_cast<u8>((iss >> 14) & 7),
                            static_cast<u8>((iss >> 10) & 0xf),
                            static_cast<u8>((iss >> 1) & 0xf),
                            static_cast<u8>((iss >> 17) & 7)};
    }
};

// The synchronous external abort Keel injects for an access outside the VM's memory:
// ESR_EL1 as the guest will read it (EC data/instruction abort, IL, DFSC 0b010000).
constexpr u32 kFscSyncExternal = 0x10;
// `write`: the access was a store (ISS WnR, bit 6; data aborts only, D17.2.40).
constexpr u64 injected_abort_esr(bool instruction, bool from_el0, bool write = false) {
    u64 e = instruction ? (from_el0 ? ec::kInstAbortLower : ec::kInstAbortSame)
                        : (from_el0 ? ec::kDataAbortLower : ec::kDataAbortSame);
    const u64 wnr = !instruction && write ? 1ull << 6 : 0;
    return (e << 26) | (1ull << 25) | wnr | kFscSyncExternal;
}
static_assert(injected_abort_esr(false, false) == 0x96000010ull, "SEA on a data access at EL1");

// PSTATE after an exception entry to EL1 (ARM ARM D1.3.4 / "PSTATE on exception entry
// to AArch64 state"), in SPSR layout (C5.2.19): EL1h with D, A, I, F set; IL, SS, UAO,
// BTYPE cleared; PAN set when SCTLR_EL1.SPAN is 0 (SPAN is RES1 without FEAT_PAN);
// SSBS = SCTLR_EL1.DSSBS (RES0 without FEAT_SSBS); TCO set with FEAT_MTE. NZCV, DIT
// and an already set PAN are kept.
namespace spsr {
constexpr u64 kNzcv = 0xfull << 28, kTco = 1ull << 25, kDit = 1ull << 24, kPan = 1ull << 22;
constexpr u64 kSsbs = 1ull << 12, kDaif = 0xfull << 6, kEl1h = 0x5;
} // namespace spsr
namespace sctlr {
constexpr u64 kSpan = 1ull << 23, kDssbs = 1ull << 44;
}
constexpr u64 exception_entry_pstate(u64 old, u64 sctlr_el1, bool mte) {
    u64 p = (old & (spsr::kNzcv | spsr::kDit | spsr::kPan)) | spsr::kDaif | spsr::kEl1h;
    if ((sctlr_el1 & sctlr::kSpan) == 0) p |= spsr::kPan;
    if (sctlr_el1 & sctlr::kDssbs) p |= spsr::kSsbs;
    if (mte) p |= spsr::kTco;
    return p;
}
static_assert(exception_entry_pstate(0x5, sctlr::kSpan, false) == 0x3c5, "EL1h, DAIF masked");

// Offset into VBAR_EL1 for a synchronous exception from the guest's mode (D1.10.2).
constexpr u64 sync_vector_offset(u64 spsr) {
    const u64 mode = spsr & 0xf;
    if (mode == 0x5) return 0x200; // EL1h: current EL, SP_ELx
    if (mode == 0x4) return 0x000; // EL1t: current EL, SP_EL0
    return 0x400;                  // EL0: lower EL, AArch64
}

} // namespace keel::arm64
