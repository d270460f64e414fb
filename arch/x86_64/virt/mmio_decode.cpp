// MMIO instruction decoding with Zydis (see mmio_decode.hpp).
#include "mmio_decode.hpp"

#include <Zydis/Decoder.h>
#include <Zydis/Register.h>

namespace keel::virt {
namespace {

u64 mask_of(u8 bytes) { return bytes >= 8 ? ~0ull : (1ull << (8 * bytes)) - 1; }

bool is_high8(ZydisRegister r) {
    return r == ZYDIS_REGISTER_AH || r == ZYDIS_REGISTER_CH || r == ZYDIS_REGISTER_DH ||
           r == ZYDIS_REGISTER_BH;
}

// GPR operand -> architectural number (Zydis lists RAX, RCX, RDX, RBX, RSP ... R15 in order).
bool gpr_of(const ZydisDecodedOperand& op, ZydisMachineMode mode, MmioInsn& out) {
    if (op.type != ZYDIS_OPERAND_TYPE_REGISTER) return false;
    const ZydisRegisterClass c = ZydisRegisterGetClass(op.reg.value);
    if (c != ZYDIS_REGCLASS_GPR8 && c != ZYDIS_REGCLASS_GPR16 && c != ZYDIS_REGCLASS_GPR32 &&
        c != ZYDIS_REGCLASS_GPR64)
        return false;
    const ZydisRegister full = ZydisRegisterGetLargestEnclosing(mode, op.reg.value);
    const int n =
        full - (mode == ZYDIS_MACHINE_MODE_LONG_64 ? ZYDIS_REGISTER_RAX : ZYDIS_REGISTER_EAX);
    if (n < 0 || n > 15) return false;
    out.reg = static_cast<u8>(n);
    out.high8 = is_high8(op.reg.value);
    out.reg_width = static_cast<u8>(op.size / 8);
    return true;
}

} // namespace

Result<MmioInsn> decode_mmio(const u8* bytes, usize len, CpuMode cpu_mode) {
    const ZydisMachineMode mode = cpu_mode == CpuMode::Long64        ? ZYDIS_MACHINE_MODE_LONG_64
                                  : cpu_mode == CpuMode::Protected32 ? ZYDIS_MACHINE_MODE_LEGACY_32
                                                                     : ZYDIS_MACHINE_MODE_REAL_16;
    const ZydisStackWidth stack = cpu_mode == CpuMode::Long64        ? ZYDIS_STACK_WIDTH_64
                                  : cpu_mode == CpuMode::Protected32 ? ZYDIS_STACK_WIDTH_32
                                                                     : ZYDIS_STACK_WIDTH_16;
    ZydisDecoder d;
    if (!ZYAN_SUCCESS(ZydisDecoderInit(&d, mode, stack))) return Status::BadState;
    ZydisDecodedInstruction insn;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&d, bytes, len, &insn, ops))) return Status::Corrupt;

    MmioInsn m;
    m.length = insn.length;
    switch (insn.mnemonic) {
    case ZYDIS_MNEMONIC_STOSB:
    case ZYDIS_MNEMONIC_STOSW:
    case ZYDIS_MNEMONIC_STOSD:
    case ZYDIS_MNEMONIC_STOSQ:
        m.op = MmioOp::Store;
        m.string = true;
        m.rep = (insn.attributes & ZYDIS_ATTRIB_HAS_REP) != 0;
        m.width = static_cast<u8>(insn.operand_width / 8);
        m.reg = 0; // AL/AX/EAX/RAX
        return m;
    case ZYDIS_MNEMONIC_MOV:
    case ZYDIS_MNEMONIC_MOVZX:
    case ZYDIS_MNEMONIC_MOVSX:
    case ZYDIS_MNEMONIC_MOVSXD: break;
    default: return Status::Unsupported;
    }
    if (insn.operand_count_visible != 2) return Status::Unsupported;
    const ZydisDecodedOperand& dst = ops[0];
    const ZydisDecodedOperand& src = ops[1];
    if (dst.type == ZYDIS_OPERAND_TYPE_MEMORY) { // store: MOV m, r / MOV m, imm
        if (insn.mnemonic != ZYDIS_MNEMONIC_MOV) return Status::Unsupported;
        m.op = MmioOp::Store;
        m.width = static_cast<u8>(dst.size / 8);
        if (src.type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
            m.imm = static_cast<u64>(src.imm.value.s) & mask_of(m.width);
            return m;
        }
        if (!gpr_of(src, mode, m)) return Status::Unsupported;
        return m;
    }
    if (src.type != ZYDIS_OPERAND_TYPE_MEMORY || !gpr_of(dst, mode, m)) return Status::Unsupported;
    m.op = MmioOp::Load;
    m.width = static_cast<u8>(src.size / 8);
    if (insn.mnemonic == ZYDIS_MNEMONIC_MOVZX) m.extend = MmioExtend::Zero;
    if (insn.mnemonic == ZYDIS_MNEMONIC_MOVSX || insn.mnemonic == ZYDIS_MNEMONIC_MOVSXD)
        m.extend = MmioExtend::Sign;
    return m;
}

u64 mmio_load_result(const MmioInsn& m, u64 old, u64 value) {
    value &= mask_of(m.width);
    if (m.extend == MmioExtend::Sign && m.width < 8 && (value >> (8 * m.width - 1)) & 1)
        value |= ~mask_of(m.width);
    if (m.high8) return (old & ~0xff00ull) | ((value & 0xff) << 8);
    if (m.reg_width == 4) return value & 0xffffffffull; // a 32-bit write zero-extends
    if (m.reg_width >= 8) return value;
    const u64 keep = mask_of(m.reg_width);
    return (old & ~keep) | (value & keep);
}

u64 mmio_store_value(const MmioInsn& m, u64 src) {
    if (m.reg == kNoRegister) return m.imm;
    if (m.high8) return (src >> 8) & 0xff;
    return src & mask_of(m.width);
}

} // namespace keel::virt
