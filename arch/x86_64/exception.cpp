// Reporting of exceptions taken by the hypervisor. For now every one is unexpected:
// print the vector (named as in SDM Vol. 3A table 6-1), the error code, RIP, CS,
// RFLAGS, RSP, CR2, CR3 and all GPRs, then halt. "KEEL EXCEPTION" is the
// harness's failure marker.
#include <arch/cpu.hpp>

#include <stddef.h>

#include "asm_offsets.h"
#include "hypervisor/print.hpp"
#include "x86.hpp"

namespace keel::x86 {

// Memory order of the frame vectors.S builds (lowest address first).
struct ExceptionFrame {
    u64 r15, r14, r13, r12, r11, r10, r9, r8;
    u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
    u64 vector;
    u64 error;
    u64 rip, cs, rflags, rsp, ss; // pushed by the CPU
};
static_assert(offsetof(ExceptionFrame, r15) == FRAME_R15);
static_assert(offsetof(ExceptionFrame, rax) == FRAME_RAX);
static_assert(offsetof(ExceptionFrame, vector) == FRAME_VECTOR);
static_assert(offsetof(ExceptionFrame, error) == FRAME_ERROR);
static_assert(offsetof(ExceptionFrame, rip) == FRAME_RIP);
static_assert(offsetof(ExceptionFrame, ss) == FRAME_SS);
static_assert(sizeof(ExceptionFrame) == FRAME_SIZE);

namespace {

const char* vector_name(u64 v) {
    static const char* const names[KEEL_X86_EXCEPTION_VECTORS] = {
        "#DE divide error",
        "#DB debug",
        "NMI",
        "#BP breakpoint",
        "#OF overflow",
        "#BR bound range",
        "#UD invalid opcode",
        "#NM device not available",
        "#DF double fault",
        "coprocessor overrun",
        "#TS invalid TSS",
        "#NP segment not present",
        "#SS stack fault",
        "#GP general protection",
        "#PF page fault",
        "reserved",
        "#MF x87 FP error",
        "#AC alignment check",
        "#MC machine check",
        "#XM SIMD FP exception",
        "#VE virtualization exception",
        "#CP control protection",
        "reserved",
        "reserved",
        "reserved",
        "reserved",
        "reserved",
        "reserved",
        "#HV hypervisor injection",
        "#VC VMM communication",
        "#SX security exception",
        "reserved",
    };
    return v < KEEL_X86_EXCEPTION_VECTORS ? names[v] : "?";
}

constexpr u64 kVectorPageFault = 14;
// #PF error code bits (SDM Vol. 3A 4.7, figure 4-12).
constexpr u64 kPfPresent = 1ull << 0;
constexpr u64 kPfWrite = 1ull << 1;
constexpr u64 kPfFetch = 1ull << 4;

} // namespace

extern "C" [[noreturn]] void x86_exception(ExceptionFrame* f) {
    using ull = unsigned long long;
    const u64 cr2 = read_cr2(); // first: nothing below may fault and replace it
    kprint("KEEL EXCEPTION: vector %llu (%s) error code %#llx\n", static_cast<ull>(f->vector),
           vector_name(f->vector), static_cast<ull>(f->error));
    if (f->vector == kVectorPageFault)
        kprint("  page fault: %s %s access\n",
               (f->error & kPfPresent) ? "protection" : "not-present",
               (f->error & kPfFetch)   ? "fetch"
               : (f->error & kPfWrite) ? "write"
                                       : "read");
    kprint("  RIP %#018llx  CS %#llx  RFLAGS %#llx\n", static_cast<ull>(f->rip),
           static_cast<ull>(f->cs), static_cast<ull>(f->rflags));
    kprint("  RSP %#018llx  SS %#llx\n", static_cast<ull>(f->rsp), static_cast<ull>(f->ss));
    kprint("  CR2 %#018llx  CR3 %#018llx\n", static_cast<ull>(cr2), static_cast<ull>(read_cr3()));
    kprint("  RAX %016llx  RBX %016llx  RCX %016llx\n", static_cast<ull>(f->rax),
           static_cast<ull>(f->rbx), static_cast<ull>(f->rcx));
    kprint("  RDX %016llx  RSI %016llx  RDI %016llx\n", static_cast<ull>(f->rdx),
           static_cast<ull>(f->rsi), static_cast<ull>(f->rdi));
    kprint("  RBP %016llx  R8  %016llx  R9  %016llx\n", static_cast<ull>(f->rbp),
           static_cast<ull>(f->r8), static_cast<ull>(f->r9));
    kprint("  R10 %016llx  R11 %016llx  R12 %016llx\n", static_cast<ull>(f->r10),
           static_cast<ull>(f->r11), static_cast<ull>(f->r12));
    kprint("  R13 %016llx  R14 %016llx  R15 %016llx\n", static_cast<ull>(f->r13),
           static_cast<ull>(f->r14), static_cast<ull>(f->r15));
    arch::halt();
}

} // namespace keel::x86
