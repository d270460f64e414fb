// GDT, TSS and IDT for long mode (SDM Vol. 3A 3.4.5, 7.2.3, 6.14.1). Descriptors are
// assembled from named fields into u64 words; nothing here is a C bitfield.
#include "descriptors.hpp"

#include <stddef.h>

#include "asm_offsets.h"
#include "hypervisor/types.hpp"

extern "C" char x86_exception_stubs[];
extern "C" char x86_kick_stub[];
extern "C" char x86_msi_stubs[];
extern "C" char x86_spurious_stub[];
extern "C" char x86_stray_stub[];
extern "C" char df_stack_top[];

namespace keel::x86 {
namespace {

// Segment descriptor fields (SDM Vol. 3A 3.4.5, figure 3-8).
constexpr u64 kDescLimitLow = 0xffffull; // limit 15:0 (ignored in 64-bit code)
constexpr u64 kDescAccessed = 1ull << 40;
constexpr u64 kDescWritable = 1ull << 41; // data: writable; code: readable
constexpr u64 kDescCode = 1ull << 43;
constexpr u64 kDescCodeOrData = 1ull << 44; // S: not a system descriptor
constexpr u64 kDescPresent = 1ull << 47;
constexpr u64 kDescLimitHigh = 0xfull << 48;
constexpr u64 kDescLong = 1ull << 53;      // L: 64-bit code segment
constexpr u64 kDescDefault32 = 1ull << 54; // D/B (must be 0 when L=1)
constexpr u64 kDescGranularity = 1ull << 55;
constexpr u64 kDescTypeTssAvailable = 0x9ull << 40; // 64-bit TSS (available), table 3-2

constexpr u64 kCode64 = kDescLimitLow | kDescAccessed | kDescWritable | kDescCode |
                        kDescCodeOrData | kDescPresent | kDescLimitHigh | kDescLong |
                        kDescGranularity;
constexpr u64 kData = kDescLimitLow | kDescAccessed | kDescWritable | kDescCodeOrData |
                      kDescPresent | kDescLimitHigh | kDescDefault32 | kDescGranularity;
// The early GDT in start.S uses the same two descriptors. The accessed bits are preset
// so the CPU never writes to the GDT when it loads a selector.
static_assert(kCode64 == 0x00af9b000000ffffull);
static_assert(kData == 0x00cf93000000ffffull);

// 64-bit TSS (SDM Vol. 3A 8.7, figure 8-11).
struct __attribute__((packed)) Tss {
    u32 reserved0;
    u64 rsp[3];
    u64 reserved1;
    u64 ist[7];
    u64 reserved2;
    u16 reserved3;
    u16 iomap_base;
};
static_assert(sizeof(Tss) == 104, "SDM Vol. 3A figure 8-11");
static_assert(offsetof(Tss, ist) == 0x24, "IST1 at offset 0x24");
static_assert(offsetof(Tss, iomap_base) == 0x66);

// IDT gate (SDM Vol. 3A 6.14.1, figure 6-8), as two u64 words.
struct IdtGate {
    u64 low;
    u64 high;
};
static_assert(sizeof(IdtGate) == 16);
constexpr u64 kGateInterrupt64 = 0xeull << 40; // type 1110: interrupt gate (IF cleared)
constexpr u64 kGatePresent = 1ull << 47;
constexpr unsigned kDoubleFault = 8;
constexpr unsigned kDfIst = 1;

struct __attribute__((packed)) DescriptorPointer {
    u16 limit;
    u64 base;
};
static_assert(sizeof(DescriptorPointer) == 10);

constexpr unsigned kGdtEntries = 5; // null, code, data, TSS (two slots)
static_assert(KEEL_X86_SEL_CODE64 == 1 * 8 && KEEL_X86_SEL_DATA == 2 * 8 &&
              KEEL_X86_SEL_TSS == 3 * 8);

struct alignas(64) CpuTables {
    alignas(16) u64 gdt[kGdtEntries];
    alignas(16) Tss tss;
    alignas(16) IdtGate idt[KEEL_X86_IDT_VECTORS];
};
CpuTables g_cpu[kMaxCpus];
// #DF stacks of the CPUs other than the first slot (which uses start.S's df_stack).
alignas(16) u8 g_df_stacks[kMaxCpus][KEEL_X86_IST_SIZE];

// A 16-byte system descriptor for the TSS (SDM Vol. 3A 8.2.3, figure 8-4).
void set_tss_descriptor(u64* gdt, u64 base, u32 limit) {
    gdt[3] = (limit & 0xffffull) | ((base & 0xffffffull) << 16) | kDescTypeTssAvailable |
             kDescPresent | ((static_cast<u64>(limit) >> 16 & 0xf) << 48) |
             ((base >> 24 & 0xff) << 56);
    gdt[4] = base >> 32;
}

IdtGate make_gate(u64 handler, unsigned ist) {
    IdtGate g;
    g.low = (handler & 0xffff) | (static_cast<u64>(KEEL_X86_SEL_CODE64) << 16) |
            (static_cast<u64>(ist & 7) << 32) | kGateInterrupt64 | kGatePresent |
            ((handler >> 16 & 0xffff) << 48);
    g.high = handler >> 32;
    return g;
}

} // namespace

void descriptors_init(u32 slot) {
    if (slot >= kMaxCpus) slot = 0;
    u64* gdt = g_cpu[slot].gdt;
    Tss& tss = g_cpu[slot].tss;
    IdtGate* idt = g_cpu[slot].idt;
    gdt[0] = 0;
    gdt[1] = kCode64;
    gdt[2] = kData;
    tss.ist[kDfIst - 1] = slot == 0 ? reinterpret_cast<u64>(df_stack_top)
                                    : reinterpret_cast<u64>(g_df_stacks[slot] + KEEL_X86_IST_SIZE);
    tss.iomap_base = sizeof(Tss); // no I/O permission bitmap
    // A TSS descriptor must be "available" for LTR (which marks it busy, 8.2.2).
    set_tss_descriptor(gdt, reinterpret_cast<u64>(&tss), sizeof(Tss) - 1);

    DescriptorPointer gdtr{sizeof(u64) * kGdtEntries - 1, reinterpret_cast<u64>(gdt)};
    // Reload CS with a far return, then the data segments and the task register.
    asm volatile("lgdt %0\n\t"
                 "pushq %1\n\t"
                 "leaq 1f(%%rip), %%rax\n\t"
                 "pushq %%rax\n\t"
                 "lretq\n"
                 "1:\n\t"
                 "mov %2, %%ds\n\t"
                 "mov %2, %%es\n\t"
                 "mov %2, %%ss\n\t"
                 "ltr %w3"
                 :
                 : "m"(gdtr), "i"(KEEL_X86_SEL_CODE64), "r"(static_cast<u64>(KEEL_X86_SEL_DATA)),
                   "r"(static_cast<u64>(KEEL_X86_SEL_TSS))
                 : "rax", "memory");

    const u64 stubs = reinterpret_cast<u64>(x86_exception_stubs);
    for (unsigned v = 0; v < KEEL_X86_EXCEPTION_VECTORS; ++v)
        idt[v] = make_gate(stubs + v * KEEL_X86_STUB_SIZE, v == kDoubleFault ? kDfIst : 0);
    for (unsigned v = KEEL_X86_KICK_VECTOR + 1; v < KEEL_X86_IDT_VECTORS; ++v)
        idt[v] = make_gate(reinterpret_cast<u64>(x86_stray_stub), 0); // replaced below where used
    idt[KEEL_X86_KICK_VECTOR] = make_gate(reinterpret_cast<u64>(x86_kick_stub), 0);
    const u64 msi = reinterpret_cast<u64>(x86_msi_stubs);
    for (unsigned k = 0; k < KEEL_X86_MSI_VECTORS; ++k)
        idt[KEEL_X86_MSI_VECTOR_FIRST + k] = make_gate(msi + k * KEEL_X86_STUB_SIZE, 0);
    idt[KEEL_X86_SPURIOUS_VECTOR] = make_gate(reinterpret_cast<u64>(x86_spurious_stub), 0);
    DescriptorPointer idtr{sizeof(IdtGate) * KEEL_X86_IDT_VECTORS - 1, reinterpret_cast<u64>(idt)};
    asm volatile("lidt %0" ::"m"(idtr) : "memory");
}

} // namespace keel::x86
