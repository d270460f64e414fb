// A live update's incoming x86 image staying (docs/handover.md §4 steps 4-6, §5.1): after
// every object of the record was adopted and every other core came over, the boot core tells
// them to stay, takes its own page tables, descriptors and timer rate, waits until every parked
// vCPU has re-entered its guest, and carries on as Keel (mailbox_continue).
#pragma once

#include "hypervisor/platform.hpp"
#include "hypervisor/update/doorbell.hpp"
#include "hypervisor/update/handover.hpp"

namespace keel::x86 {

// smp.cpp: this image's per-CPU slots for the cores the outgoing image had online, from the
// platform; returns the boot core's index (found by its APIC id).
u32 smp_adopt(const Platform& platform, u64 online);
// smp.cpp: the boot core's own slot (GS base), once its descriptors are this image's.
void smp_adopt_boot_core();
// smp.cpp: a visiting core told to stay: this image's tables, descriptors, GS base, local
// APIC and SVM host save area, then its work loop on its own stack (its adopted vCPU first).
[[noreturn]] void adopted_ap_main();

// An adopted vCPU's core is about to re-enter its guest (virt/vcpu_run.cpp): counted for the
// health check, and the core's last VM noted (virt/core_reset.cpp).
void vcpu_resumed(u16 vm_id);

// Waits until `counter` (atomic) reaches `n` or `ms` milliseconds pass (this image's TSC rate;
// a spin bound where it has none); returns its value. Both halves of the handover wait so.
u32 wait_count(const u32& counter, u32 n, u64 ms);

// The ACPI RSDP this image describes to the next update (OldImage acpi_rsdp): the adopted one,
// copied into this image where it lay inside the outgoing image (a Multiboot2 copy).
u64 adopted_rsdp();

// The incoming boot core's steps in the blackout (docs/handover.md §5.1, bench/update_bench.sh):
// each a TSC reading with its name (a string literal), printed by stay() in ns after the
// quiesce began once every vCPU is back. At most twelve; more are dropped.
void mark_step(const char* name);

// Never returns: the point of no return is its first step (this image's own tables). The
// other cores are told to stay (the doorbell's kGoStay) once the local APIC timer's rate is
// known, `timer_per_tsc_q32` from the record or measured here when 0: each arms its kick
// timer before it enters its guest.
[[noreturn]] void stay(const update::HandoverView& record, update::Doorbell& d,
                       const Platform& platform, u32 boot, u32 arrived, u32 parked,
                       u64 timer_per_tsc_q32);

} // namespace keel::x86
