// Thin wrappers for the x86 instructions the arch code needs: port I/O, MSRs,
// CPUID, control registers. Names follow the SDM; MSR numbers cite Vol. 4.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::x86 {

// Architectural MSRs (SDM Vol. 4, table 2-2) and AMD's (APM Vol. 2, 15.30).
inline constexpr u32 kMsrFeatureControl = 0x3a;
inline constexpr u32 kMsrVmxBasic = 0x480;
inline constexpr u32 kMsrVmxProcbasedCtls = 0x482;
inline constexpr u32 kMsrVmxProcbasedCtls2 = 0x48b;
inline constexpr u32 kMsrVmxEptVpidCap = 0x48c;
inline constexpr u32 kMsrEfer = 0xc0000080;
inline constexpr u32 kMsrVmCr = 0xc0010114;

// EFER (SDM Vol. 3A 2.2.1) and CR0/CR4 bits (Vol. 3A 2.5).
inline constexpr u64 kEferLma = 1ull << 10;
inline constexpr u64 kEferNxe = 1ull << 11;
inline constexpr u64 kCr0Wp = 1ull << 16;
inline constexpr u64 kCr0Pg = 1ull << 31;
inline constexpr u64 kCr4Pae = 1ull << 5;

inline void outb(u16 port, u8 v) { asm volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
inline u8 inb(u16 port) {
    u8 v;
    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

inline u64 rdmsr(u32 msr) {
    u32 lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (static_cast<u64>(hi) << 32) | lo;
}
inline void wrmsr(u32 msr, u64 v) {
    asm volatile("wrmsr" ::"c"(msr), "a"(static_cast<u32>(v)), "d"(static_cast<u32>(v >> 32)));
}

struct CpuidRegs {
    u32 eax, ebx, ecx, edx;
};
inline CpuidRegs cpuid(u32 leaf, u32 subleaf = 0) {
    CpuidRegs r;
    asm volatile("cpuid"
                 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                 : "a"(leaf), "c"(subleaf));
    return r;
}

// This CPU's initial APIC id (SDM Vol. 2A CPUID leaf 0x0B EDX, else leaf 1 EBX[31:24]): what
// the MADT lists, readable before the local APIC is mapped.
inline u32 initial_apic_id() {
    if (cpuid(0).eax >= 0x0b && cpuid(0x0b, 0).ebx != 0) return cpuid(0x0b, 0).edx;
    return cpuid(1).ebx >> 24;
}

inline u64 read_cr0() {
    u64 v;
    asm volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}
inline void write_cr0(u64 v) { asm volatile("mov %0, %%cr0" ::"r"(v) : "memory"); }
inline u64 read_cr2() {
    u64 v;
    asm volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}
inline u64 read_cr3() {
    u64 v;
    asm volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}
// Loading CR3 flushes the non-global TLB entries; "memory" orders the table writes before it.
inline void write_cr3(u64 v) { asm volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
inline u64 read_cr4() {
    u64 v;
    asm volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}
inline void invlpg(u64 va) { asm volatile("invlpg (%0)" ::"r"(va) : "memory"); }

} // namespace keel::x86
