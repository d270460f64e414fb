// Reporting of exceptions taken at EL2. For now every one is unexpected: print the
// vector, ESR (with its exception class decoded), ELR, FAR, SPSR and all registers,
// then halt. "KEEL EXCEPTION" is the harness's failure marker.
#include <arch/cpu.hpp>

#include <stddef.h>

#include "asm_offsets.h"
#include "hypervisor/print.hpp"

namespace keel::arm64 {

struct ExceptionFrame {
    u64 x[31];
    u64 sp;
    u64 elr;
    u64 spsr;
    u64 esr;
    u64 far;
};
static_assert(offsetof(ExceptionFrame, sp) == FRAME_SP);
static_assert(offsetof(ExceptionFrame, elr) == FRAME_ELR);
static_assert(offsetof(ExceptionFrame, spsr) == FRAME_SPSR);
static_assert(offsetof(ExceptionFrame, esr) == FRAME_ESR);
static_assert(offsetof(ExceptionFrame, far) == FRAME_FAR);
static_assert(sizeof(ExceptionFrame) == FRAME_SIZE);

namespace {

const char* vector_name(u64 index) {
    static const char* const names[16] = {
        "sync (EL2, SP_EL0)", "irq (EL2, SP_EL0)", "fiq (EL2, SP_EL0)", "serror (EL2, SP_EL0)",
        "sync (EL2, SP_EL2)", "irq (EL2, SP_EL2)", "fiq (EL2, SP_EL2)", "serror (EL2, SP_EL2)",
        "sync (lower, A64)",  "irq (lower, A64)",  "fiq (lower, A64)",  "serror (lower, A64)",
        "sync (lower, A32)",  "irq (lower, A32)",  "fiq (lower, A32)",  "serror (lower, A32)",
    };
    return index < 16 ? names[index] : "?";
}

// ESR_ELx.EC values (ARM ARM D17.2.37) we are likely to meet.
const char* ec_name(u64 ec) {
    switch (ec) {
    case 0x00: return "unknown reason";
    case 0x01: return "WFI/WFE";
    case 0x07: return "SIMD/FP access";
    case 0x0e: return "illegal execution state";
    case 0x16: return "HVC (AArch64)";
    case 0x17: return "SMC (AArch64)";
    case 0x18: return "MSR/MRS/system instruction";
    case 0x20: return "instruction abort, lower EL";
    case 0x21: return "instruction abort, same EL";
    case 0x22: return "PC alignment fault";
    case 0x24: return "data abort, lower EL";
    case 0x25: return "data abort, same EL";
    case 0x26: return "SP alignment fault";
    case 0x2f: return "SError";
    case 0x3c: return "BRK";
    default: return "other";
    }
}

} // namespace

extern "C" [[noreturn]] void arm64_exception(ExceptionFrame* f, u64 index) {
    using ull = unsigned long long;
    u64 ec = (f->esr >> 26) & 0x3f;
    kprint("KEEL EXCEPTION: %s at EL2\n", vector_name(index));
    kprint("  ESR_EL2 %#llx (EC %#llx: %s, ISS %#llx)\n", static_cast<ull>(f->esr),
           static_cast<ull>(ec), ec_name(ec), static_cast<ull>(f->esr & 0x1ffffff));
    kprint("  ELR_EL2 %#018llx  FAR_EL2 %#018llx  SPSR_EL2 %#llx  SP %#llx\n",
           static_cast<ull>(f->elr), static_cast<ull>(f->far), static_cast<ull>(f->spsr),
           static_cast<ull>(f->sp));
    for (int i = 0; i < 31; i += 2) {
        if (i + 1 < 31)
            kprint("  x%-2d %016llx  x%-2d %016llx\n", i, static_cast<ull>(f->x[i]), i + 1,
                   static_cast<ull>(f->x[i + 1]));
        else
            kprint("  x%-2d %016llx\n", i, static_cast<ull>(f->x[i]));
    }
    arch::halt();
}

} // namespace keel::arm64
