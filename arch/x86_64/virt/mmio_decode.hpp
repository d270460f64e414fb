// Decoding the guest instruction that caused an MMIO EPT violation (SDM Vol. 3C 28.2.1:
// EPT violations give the address, not the instruction), with Zydis, into a value type
// the emulator applies without looking at instruction bytes again. Supported forms:
//   MOV r/m, r (88/89)   MOV r, r/m (8A/8B)   MOV r/m, imm (C6/C7)
//   MOVZX r, r/m8/16 (0F B6/B7)   MOVSX r, r/m8/16 (0F BE/BF)   MOVSXD r64, r/m32 (63)
//   STOSB/W/D/Q (AA/AB), with or without REP
// Anything else (read-modify-write, MOVS, vector moves...) is Unsupported: the caller
// stops the VM with a report rather than guess. Pure logic; host-tested.
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::virt {

enum class MmioOp : u8 { Load, Store };
enum class MmioExtend : u8 { None, Zero, Sign };
enum class CpuMode : u8 { Long64, Protected32, Real16 };

inline constexpr u8 kNoRegister = 0xff;

struct MmioInsn {
    MmioOp op = MmioOp::Load;
    u8 width = 0;         // bytes accessed at the MMIO address: 1, 2, 4 or 8
    u8 length = 0;        // instruction length (advance RIP by this)
    u8 reg = kNoRegister; // Load: destination; Store: source (architectural number 0-15)
    bool high8 = false;   // AH, CH, DH or BH (bits 15:8 of reg 0-3)
    u8 reg_width = 0;     // Load: bytes of the destination register written
    MmioExtend extend = MmioExtend::None;
    u64 imm = 0;         // Store with reg == kNoRegister: the immediate (sign-extended to width)
    bool string = false; // STOS: source AL/AX/EAX/RAX, then RDI += width (DF=0) or -= (DF=1)
    bool rep = false;    // REP STOS: one element per exit, RCX counts down
};

Result<MmioInsn> decode_mmio(const u8* bytes, usize len, CpuMode mode);

// The value a Load writes into the full destination register `old`: zero/sign
// extension to reg_width, 32-bit writes zero the upper half (SDM Vol. 1 3.4.1.1),
// 8/16-bit writes keep the rest.
u64 mmio_load_result(const MmioInsn& insn, u64 old, u64 value);
// The value a Store writes (width bytes) from the full source register `src`.
u64 mmio_store_value(const MmioInsn& insn, u64 src);

} // namespace keel::virt
