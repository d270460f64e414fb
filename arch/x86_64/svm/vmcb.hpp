// The VMCB (AMD APM Vol. 2 appendix B, "Layout of VMCB"): the control area (table B-1)
// at offset 0 and the state-save area (table B-2) at 0x400, one 4 KiB page per vCPU. The
// intercept bits and exit codes Keel uses (appendix C, "SVM Intercept Exit Codes").
#pragma once

#include <stddef.h>

#include "hypervisor/types.hpp"

namespace keel::svm {

struct VmcbSegment {
    u16 selector;
    u16 attrib; // descriptor bits 47:40 in 7:0, 55:52 in 11:8 (type, S, DPL, P, AVL, L, D/B, G)
    u32 limit;
    u64 base;
};
static_assert(sizeof(VmcbSegment) == 16);

struct Vmcb {
    // Control area (table B-1).
    u32 intercept_cr;         // 0x000: 15:0 reads of CR0-15, 31:16 writes
    u32 intercept_dr;         // 0x004
    u32 intercept_exceptions; // 0x008: one bit per vector
    u32 intercept_misc1;      // 0x00c: kIntercept1*
    u32 intercept_misc2;      // 0x010: kIntercept2*
    u32 intercept_misc3;      // 0x014
    u8 reserved_018[0x03c - 0x018];
    u16 pause_filter_threshold; // 0x03c
    u16 pause_filter_count;     // 0x03e
    u64 iopm_base;              // 0x040: physical, 4 KiB aligned (12 KiB)
    u64 msrpm_base;             // 0x048: physical, 4 KiB aligned (8 KiB)
    u64 tsc_offset;             // 0x050
    u32 guest_asid;             // 0x058
    u8 tlb_control;             // 0x05c: kTlb*
    u8 reserved_05d[3];
    u64 int_control;    // 0x060: V_TPR 7:0, V_IRQ 8, V_INTR_MASKING 24, V_INTR_VECTOR 39:32
    u64 int_state;      // 0x068: bit 0 interrupt shadow
    u64 exit_code;      // 0x070
    u64 exit_info1;     // 0x078
    u64 exit_info2;     // 0x080
    u64 exit_int_info;  // 0x088
    u64 nested_control; // 0x090: bit 0 NP_ENABLE
    u64 avic_apic_bar;  // 0x098
    u64 ghcb;           // 0x0a0
    u64 event_inject;   // 0x0a8: the EntryEvent word, error code in 63:32
    u64 nested_cr3;     // 0x0b0
    u64 virt_ext;       // 0x0b8
    u32 clean_bits;     // 0x0c0: 0 = nothing cached may be reused
    u32 reserved_0c4;
    u64 next_rip;    // 0x0c8 (NRIPS only: QEMU's TCG leaves it 0)
    u8 insn_fetched; // 0x0d0 (decode assists only)
    u8 insn_bytes[15];
    u8 reserved_0e0[0x400 - 0x0e0];
    // State-save area (table B-2).
    VmcbSegment es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr; // 0x400..0x49f
    u8 reserved_4a0[0x4cb - 0x4a0];
    u8 cpl; // 0x4cb
    u32 reserved_4cc;
    u64 efer; // 0x4d0
    u8 reserved_4d8[0x548 - 0x4d8];
    u64 cr4;    // 0x548
    u64 cr3;    // 0x550
    u64 cr0;    // 0x558
    u64 dr7;    // 0x560
    u64 dr6;    // 0x568
    u64 rflags; // 0x570
    u64 rip;    // 0x578
    u8 reserved_580[0x5d8 - 0x580];
    u64 rsp; // 0x5d8
    u8 reserved_5e0[0x5f8 - 0x5e0];
    u64 rax;            // 0x5f8
    u64 star;           // 0x600
    u64 lstar;          // 0x608
    u64 cstar;          // 0x610
    u64 sfmask;         // 0x618
    u64 kernel_gs_base; // 0x620
    u64 sysenter_cs;    // 0x628
    u64 sysenter_esp;   // 0x630
    u64 sysenter_eip;   // 0x638
    u64 cr2;            // 0x640
    u8 reserved_648[0x668 - 0x648];
    u64 g_pat;  // 0x668
    u64 dbgctl; // 0x670
    u8 reserved_678[0x1000 - 0x678];
};
static_assert(sizeof(Vmcb) == 4096);
static_assert(offsetof(Vmcb, iopm_base) == 0x40 && offsetof(Vmcb, guest_asid) == 0x58);
static_assert(offsetof(Vmcb, tlb_control) == 0x5c && offsetof(Vmcb, exit_code) == 0x70);
static_assert(offsetof(Vmcb, nested_control) == 0x90 && offsetof(Vmcb, event_inject) == 0xa8);
static_assert(offsetof(Vmcb, nested_cr3) == 0xb0 && offsetof(Vmcb, next_rip) == 0xc8);
static_assert(offsetof(Vmcb, es) == 0x400 && offsetof(Vmcb, tr) == 0x490);
static_assert(offsetof(Vmcb, cpl) == 0x4cb && offsetof(Vmcb, efer) == 0x4d0);
static_assert(offsetof(Vmcb, cr4) == 0x548 && offsetof(Vmcb, rip) == 0x578);
static_assert(offsetof(Vmcb, rsp) == 0x5d8 && offsetof(Vmcb, rax) == 0x5f8);
static_assert(offsetof(Vmcb, cr2) == 0x640 && offsetof(Vmcb, g_pat) == 0x668);

inline constexpr u32 kInterceptCr4Write = 1u << (16 + 4);
// Intercept vector 3 (offset 0x00c) and 4 (0x010) bits (table B-1).
inline constexpr u32 kIntercept1Intr = 1u << 0, kIntercept1Nmi = 1u << 1, kIntercept1Init = 1u << 3,
                     kIntercept1Vintr = 1u << 4, kIntercept1Iret = 1u << 20,
                     kIntercept1Pause = 1u << 23, kIntercept1Cpuid = 1u << 18,
                     kIntercept1Invd = 1u << 22, kIntercept1Hlt = 1u << 24,
                     kIntercept1Invlpga = 1u << 26, kIntercept1Ioio = 1u << 27,
                     kIntercept1Msr = 1u << 28, kIntercept1Shutdown = 1u << 31;
inline constexpr u32 kIntercept2Vmrun = 1u << 0, kIntercept2Vmmcall = 1u << 1,
                     kIntercept2Vmload = 1u << 2, kIntercept2Vmsave = 1u << 3,
                     kIntercept2Stgi = 1u << 4, kIntercept2Clgi = 1u << 5,
                     kIntercept2Skinit = 1u << 6, kIntercept2Xsetbv = 1u << 13;
// TLB_CONTROL (15.16.2): 1 flushes every ASID's entries, 3 this guest's ASID only.
inline constexpr u8 kTlbNothing = 0, kTlbFlushAsid = 3;
inline constexpr u64 kIntControlVIntrMasking = 1ull << 24;
// A virtual interrupt request (15.21.4): V_IRQ 8, priority 19:16, ignore V_TPR 20. Keel
// asks for one only to learn when the guest can take an interrupt (VINTR intercept).
inline constexpr u64 kIntControlVIrq = 1ull << 8, kIntControlVIntrPrio = 0xfull << 16,
                     kIntControlVIgnTpr = 1ull << 20;
inline constexpr u64 kNestedEnable = 1ull << 0;

// Exit codes (appendix C).
enum class ExitCode : u64 {
    Cr0Write = 0x10,
    Cr4Write = 0x14,
    ExceptionBase = 0x40, // + vector
    Intr = 0x60,
    Nmi = 0x61,
    Init = 0x63,
    Vintr = 0x64,
    Iret = 0x74,
    Pause = 0x77,
    Cpuid = 0x72,
    Invd = 0x76,
    Hlt = 0x78,
    Invlpga = 0x7a,
    Ioio = 0x7b,
    Msr = 0x7c,
    Shutdown = 0x7f,
    Vmrun = 0x80,
    Vmmcall = 0x81,
    Vmload = 0x82,
    Vmsave = 0x83,
    Stgi = 0x84,
    Clgi = 0x85,
    Skinit = 0x86,
    Xsetbv = 0x8d,
    NestedPageFault = 0x400,
    Invalid = ~0ull, // VMRUN found illegal guest state (15.5.1)
};
const char* exit_code_name(u64 code);

// IOIO EXITINFO1 (15.10.2, figure 15-2): direction, string, REP, size, port. EXITINFO2
// holds the next instruction's RIP even without NRIPS.
struct IoInfo {
    bool in, string, rep;
    u8 size; // 1, 2 or 4
    u16 port;
};
constexpr IoInfo decode_io_info(u64 info) {
    return IoInfo{(info & 1) != 0, (info & 4) != 0, (info & 8) != 0,
                  static_cast<u8>((info & 0x10)   ? 1
                                  : (info & 0x20) ? 2
                                                  : 4),
                  static_cast<u16>(info >> 16)};
}
// Nested page fault EXITINFO1 (15.25.6): the #PF error code bits; EXITINFO2 the GPA.
struct NpfInfo {
    bool present, write, fetch;
};
constexpr NpfInfo decode_npf_info(u64 info) {
    return NpfInfo{(info & 1) != 0, (info & 2) != 0, (info & 0x10) != 0};
}

// MSRs (APM Vol. 2 15.30): VM_HSAVE_PA, and EFER.SVME.
inline constexpr u32 kMsrVmHsavePa = 0xc0010117;
inline constexpr u64 kEferSvme = 1ull << 12;

} // namespace keel::svm
