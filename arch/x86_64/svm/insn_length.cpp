// Decoding an intercepted instruction's length with Zydis (see insn_length.hpp).
#include "insn_length.hpp"

#include <string.h>

#include <Zydis/Decoder.h>

namespace keel::svm {
namespace {

ZydisMnemonic mnemonic_of(Intercepted what) {
    switch (what) {
    case Intercepted::Cpuid: return ZYDIS_MNEMONIC_CPUID;
    case Intercepted::Rdmsr: return ZYDIS_MNEMONIC_RDMSR;
    case Intercepted::Wrmsr: return ZYDIS_MNEMONIC_WRMSR;
    case Intercepted::Hlt: return ZYDIS_MNEMONIC_HLT;
    case Intercepted::Vmmcall: return ZYDIS_MNEMONIC_VMMCALL;
    case Intercepted::Xsetbv: return ZYDIS_MNEMONIC_XSETBV;
    case Intercepted::Pause: return ZYDIS_MNEMONIC_PAUSE;
    }
    return ZYDIS_MNEMONIC_INVALID;
}

struct Encoding {
    u8 bytes[3];
    u8 length;
};
Encoding encoding_of(Intercepted what) {
    switch (what) {
    case Intercepted::Cpuid: return {{0x0f, 0xa2, 0}, 2};
    case Intercepted::Rdmsr: return {{0x0f, 0x32, 0}, 2};
    case Intercepted::Wrmsr: return {{0x0f, 0x30, 0}, 2};
    case Intercepted::Hlt: return {{0xf4, 0, 0}, 1};
    case Intercepted::Vmmcall: return {{0x0f, 0x01, 0xd9}, 3};
    case Intercepted::Xsetbv: return {{0x0f, 0x01, 0xd1}, 3};
    case Intercepted::Pause: return {{0xf3, 0x90, 0}, 2};
    }
    return {{0, 0, 0}, 0xff};
}

struct Modes {
    ZydisMachineMode machine;
    ZydisStackWidth stack;
};
Modes modes_of(virt::CpuMode m) {
    if (m == virt::CpuMode::Long64) return {ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64};
    if (m == virt::CpuMode::Protected32)
        return {ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32};
    return {ZYDIS_MACHINE_MODE_REAL_16, ZYDIS_STACK_WIDTH_16};
}

} // namespace

Result<CrWrite> decode_cr4_write(const u8* bytes, usize len, virt::CpuMode cpu_mode) {
    const Modes m = modes_of(cpu_mode);
    ZydisDecoder d;
    if (!ZYAN_SUCCESS(ZydisDecoderInit(&d, m.machine, m.stack))) return Status::BadState;
    ZydisDecodedInstruction insn;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&d, bytes, len, &insn, ops))) return Status::Corrupt;
    if (insn.mnemonic != ZYDIS_MNEMONIC_MOV || insn.operand_count_visible != 2 ||
        ops[0].type != ZYDIS_OPERAND_TYPE_REGISTER || ops[0].reg.value != ZYDIS_REGISTER_CR4 ||
        ops[1].type != ZYDIS_OPERAND_TYPE_REGISTER)
        return Status::Corrupt;
    const ZydisRegister first =
        cpu_mode == virt::CpuMode::Long64 ? ZYDIS_REGISTER_RAX : ZYDIS_REGISTER_EAX;
    const int n = ops[1].reg.value - first; // Zydis lists RAX, RCX, RDX, RBX, RSP ... in order
    if (n < 0 || n > 15) return Status::Corrupt;
    return CrWrite{static_cast<u8>(n), insn.length};
}

Result<u8> intercepted_length(const u8* bytes, usize len, virt::CpuMode cpu_mode,
                              Intercepted what) {
    // The plain encoding (SDM Vol. 2 opcode tables; APM Vol. 3 VMMCALL): 0F and F4 are no
    // prefixes, so bytes that start with it are that instruction, of that length, in every
    // mode (PAUSE is F3 90 itself). Zydis only for the rest (prefixed forms, or something
    // else).
    const Encoding e = encoding_of(what);
    if (len >= e.length && memcmp(bytes, e.bytes, e.length) == 0) return e.length;
    const Modes m = modes_of(cpu_mode);
    ZydisDecoder d;
    if (!ZYAN_SUCCESS(ZydisDecoderInit(&d, m.machine, m.stack))) return Status::BadState;
    ZydisDecodedInstruction insn;
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&d, nullptr, bytes, len, &insn)))
        return Status::Corrupt;
    if (insn.mnemonic != mnemonic_of(what)) return Status::Corrupt;
    return insn.length;
}

} // namespace keel::svm
