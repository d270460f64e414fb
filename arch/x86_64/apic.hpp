// The local APIC, only as far as CPU bring-up needs it: its id and the INIT and
// STARTUP IPIs (SDM Vol. 3A 11.6.1 ICR, 11.12 x2APIC). x2APIC (MSRs) where CPUID says
// it exists, xAPIC (MMIO at IA32_APIC_BASE, mapped uncached) otherwise.
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::x86 {

enum class ApicMode { XApic, X2Apic };

// Enables the boot CPU's local APIC (x2APIC mode where available) and returns the mode.
Result<ApicMode> apic_init_boot();
u32 apic_id();
// INIT (assert), then STARTUP with `vector` (the 4 KiB page number of the entry code),
// to the CPU with APIC id `dest`. Returns once the ICR accepted each IPI.
void apic_send_init(u32 dest);
void apic_send_startup(u32 dest, u8 vector);
// The local APIC of an AP core as the boot core's: x2APIC if that is, software enabled.
void apic_init_ap();
// The kick timer (SDM Vol. 3A 11.5.4, one-shot, vector KEEL_X86_KICK_VECTOR): its rate
// against the TSC, measured once on the boot core after the TSC's; then, on the calling
// core, an interrupt at TSC `deadline` (0: none), and the moment that takes a pending
// one (interrupts on for one instruction: the stub ends it at the APIC).
void apic_timer_calibrate();
// The timer's rate in its ticks per TSC tick (32.32, divide by 1; 0 not known), and a live
// update's incoming image taking the outgoing image's instead of measuring (docs/handover.md
// §2.2 X86Clock): every core's timer runs at the boot core's rate.
u64 apic_timer_rate();
void apic_timer_adopt(u64 per_tsc_q32);
void apic_kick_at(u64 tsc_deadline);
// The kick sent now to another core (a fixed IPI with the kick timer's vector): a guest it
// runs exits as at its kick timer; a core waiting in HLT wakes.
void apic_send_kick(u32 dest);
void apic_take_kick();
// Whether an assigned device's MSI has arrived at this (the boot) core: opens for
// interrupts a moment so that its stub records it (virt/vm_msi.cpp).
bool msi_arrived();
// Masks this core's LINT0 (an 8259's ExtINT path; SDM Vol. 3A 11.5.1).
void apic_mask_lint0();
// About `us` microseconds (port 0x80 writes take ~1 us on PC hardware).
void io_delay_us(u32 us);
// Masks every line of both 8259 PICs (OCW1 to ports 0x21 and 0xa1). Firmware leaves the
// PIT's IRQ 0 unmasked at vector 8 through LINT0 (ExtINT) of the boot CPU: harmless while
// the boot core runs with interrupts off, but a vCPU on that core would exit to take it.
void legacy_pic_mask_all();

} // namespace keel::x86
