// A vCPU's virtual local APIC in x2APIC mode (SDM Vol. 3A ch. 11 "Advanced Programmable
// Interrupt Controller", 11.12 x2APIC): pure register logic, host-tested against the SDM
// (tests/unit/x86_lapic_test.cpp). The caller passes the TSC ("now") wherever time matters;
// the APIC timer counts at the TSC's rate divided by the divide configuration (the guest
// reads that rate as the core crystal clock, CPUID 0x15, cpuid_policy.cpp).
//
//   registers: by x2APIC MSR index (MSR 0x800 + n = xAPIC offset n << 4)
//   timer: one-shot, periodic (initial/current count, divide), TSC-deadline (MSR 0x6e0);
//          lapic_timer_update() moves an expired timer's vector into the IRR
//   priority (11.8.3.1): PPR from TPR and the highest in-service vector; lapic_pending()
//          is the highest IRR vector whose class is above PPR's
//   IRR: lapic_post() may be called from another core (an IPI, the I/O APIC): atomic.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::virt {

// x2APIC register numbers (MSR - 0x800), SDM table 11-6.
enum LapicReg : u32 {
    kApicId = 0x02,
    kApicVersion = 0x03,
    kApicTpr = 0x08,
    kApicPpr = 0x0a,
    kApicEoi = 0x0b,
    kApicLdr = 0x0d,
    kApicSvr = 0x0f,
    kApicIsr0 = 0x10,
    kApicTmr0 = 0x18,
    kApicIrr0 = 0x20,
    kApicEsr = 0x28,
    kApicLvtCmci = 0x2f,
    kApicIcr = 0x30,
    kApicLvtTimer = 0x32,
    kApicLvtError = 0x37,
    kApicInitialCount = 0x38,
    kApicCurrentCount = 0x39,
    kApicDivide = 0x3e,
    kApicSelfIpi = 0x3f,
};
inline constexpr u32 kLvtMask = 1u << 16;
inline constexpr u32 kTimerOneShot = 0, kTimerPeriodic = 1, kTimerTscDeadline = 2;

struct Lapic {
    u32 id;
    u32 tpr, svr, esr;
    u32 lvt[9]; // 0x2f CMCI, then 0x32..0x37 timer, thermal, perf, LINT0, LINT1, error
    u32 divide_config, initial;
    u64 timer_start;  // TSC when the initial count was written (one-shot/periodic)
    u64 timer_next;   // TSC of the next expiry; 0 = not armed
    u64 tsc_deadline; // IA32_TSC_DEADLINE (TSC-deadline mode)
    u32 isr[8], tmr[8];
    u32 irr[8]; // atomic
    u64 icr;
    // xAPIC mode (IA32_APIC_BASE.EXTD clear: MMIO at 0xfee00000, 11.4.1): the logical
    // destination and destination format registers are the guest's; ICR high is separate.
    bool xapic;
    u32 ldr, dfr;
};

enum class LapicResult : u8 { Ok, Refused, SendIpi };

// The power-up state (11.4.7.1): every LVT masked, SVR 0xff (software disabled).
void lapic_reset(Lapic& a, u32 id);
// x2APIC register `reg` read or written (a WRMSR of the whole value): Refused means #GP
// (a write-only or read-only register, reserved bits set, an unknown register).
// SendIpi: an ICR or SELF IPI write the caller delivers (lapic_icr_of()).
LapicResult lapic_read(const Lapic& a, u32 reg, u64 now, u64* out);
LapicResult lapic_write(Lapic& a, u32 reg, u64 value, u64 now);
// The ICR value a SendIpi write asks for (SELF IPI is a fixed IPI to self), with the
// destination in 63:32 (xAPIC: ICR high's 31:24 moved down to 39:32).
u64 lapic_icr_of(const Lapic& a, u32 reg, u64 value);
// xAPIC mode: a 32-bit access at `offset` in the 4 KiB page (11.4.1, table 11-1). Reserved
// and read-only registers ignore writes and unknown ones read 0 (no #GP in xAPIC mode);
// an ICR low write is SendIpi.
u32 lapic_mmio_read(const Lapic& a, u64 offset, u64 now);
LapicResult lapic_mmio_write(Lapic& a, u64 offset, u32 value, u64 now);
// IA32_TSC_DEADLINE: reads give the armed deadline (0 outside TSC-deadline mode); writes
// arm it (0 disarms), and are ignored outside TSC-deadline mode (11.5.4.1).
u64 lapic_deadline_read(const Lapic& a);
void lapic_deadline_write(Lapic& a, u64 value);
// Fires the timer if its expiry is at or before `now`: the LVT vector goes to the IRR
// unless masked; periodic rearms, one-shot and TSC-deadline disarm.
void lapic_timer_update(Lapic& a, u64 now);
// TSC of the timer's next expiry, 0 if none.
u64 lapic_timer_next(const Lapic& a);
// Sets `vector` in the IRR (fixed delivery; any core).
void lapic_post(Lapic& a, u8 vector);
u32 lapic_ppr(const Lapic& a);
bool lapic_software_enabled(const Lapic& a); // SVR bit 8
// The vector to deliver now, or -1: nothing in the IRR above PPR, or software disabled.
int lapic_pending(const Lapic& a);
// The processor takes `vector` (INTA): IRR -> ISR.
void lapic_accept(Lapic& a, u8 vector);
// Whether the APIC answers to logical destination `dest`: x2APIC, cluster in 31:16 and bit
// mask in 15:0 (11.12.10.2), or with `ioapic8` an 8-bit I/O APIC destination (the low
// byte of cluster 0's mask); xAPIC, the 8-bit destination against LDR in the flat or
// cluster model DFR names (11.6.2.2).
bool lapic_logical_match(const Lapic& a, u32 dest, bool ioapic8);

} // namespace keel::virt
