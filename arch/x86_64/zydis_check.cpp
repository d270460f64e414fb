// Decodes two MMIO-style MOVs in 64-bit mode and checks every field an MMIO
// emulator would use: mnemonic, length, operand registers, memory base and
// displacement, access width.
#include "zydis_check.hpp"

#include <Zydis/Decoder.h>

#include "hypervisor/print.hpp"

namespace keel::x86 {
namespace {

struct Expected {
    const char* text;
    u8 bytes[8];
    u8 length;
    bool mem_is_dest;   // mov [mem], reg  vs  mov reg, [mem]
    ZydisRegister reg;  // the register operand
    ZydisRegister base; // the memory operand's base
    i64 disp;
    u16 width; // access width in bits
};

constexpr Expected kCases[] = {
    {"mov [rax+0x8], rbx",
     {0x48, 0x89, 0x58, 0x08},
     4,
     true,
     ZYDIS_REGISTER_RBX,
     ZYDIS_REGISTER_RAX,
     8,
     64},
    {"mov ecx, [rip+0x10]",
     {0x8b, 0x0d, 0x10, 0x00, 0x00, 0x00},
     6,
     false,
     ZYDIS_REGISTER_ECX,
     ZYDIS_REGISTER_RIP,
     0x10,
     32},
};

bool matches(const Expected& c, const ZydisDecodedInstruction& insn,
             const ZydisDecodedOperand* ops) {
    if (insn.mnemonic != ZYDIS_MNEMONIC_MOV || insn.length != c.length) return false;
    if (insn.operand_count_visible != 2) return false;
    const ZydisDecodedOperand& mem = ops[c.mem_is_dest ? 0 : 1];
    const ZydisDecodedOperand& reg = ops[c.mem_is_dest ? 1 : 0];
    return mem.type == ZYDIS_OPERAND_TYPE_MEMORY && mem.mem.base == c.base &&
           mem.mem.index == ZYDIS_REGISTER_NONE && mem.mem.disp.has_displacement &&
           mem.mem.disp.value == c.disp && mem.size == c.width &&
           reg.type == ZYDIS_OPERAND_TYPE_REGISTER && reg.reg.value == c.reg;
}

} // namespace

Status zydis_self_check() {
    ZydisDecoder decoder;
    if (!ZYAN_SUCCESS(ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64)))
        return Status::BadState;
    for (const Expected& c : kCases) {
        ZydisDecodedInstruction insn;
        ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
        if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, c.bytes, sizeof c.bytes, &insn, ops)) ||
            !matches(c, insn, ops)) {
            kprint("zydis: %s NOT decoded as expected\n", c.text);
            return Status::Corrupt;
        }
        kprint("zydis: %s decoded (%u bytes)\n", c.text, static_cast<unsigned>(insn.length));
    }
    return Status::Ok;
}

} // namespace keel::x86
