// An arm64 vCPU: the registers the world switch moves on every exit (VcpuContext,
// shared with world_switch.S) and the EL1 system-register context, by value.
//
// Each core runs exactly one vCPU, for the VM's whole life, so the EL1 registers stay
// live in hardware between exits: they are loaded once before the first entry and
// saved once when the VM stops (for inspection and, later, live update). FP/SIMD/SVE
// are likewise left live and untrapped (CPTR_EL2 in el2_regs.hpp): the hypervisor is
// built -mgeneral-regs-only and never touches them.
#pragma once

#include <stddef.h>

#include "hypervisor/types.hpp"
#include "hypervisor/vm/vm_types.hpp"
#include "smp_offsets.h"
#include "vgic.hpp"

namespace keel {
struct Vm;
}

namespace keel::arm64 {

struct VcpuContext {
    u64 x[31];
    u64 pc;      // ELR_EL2 at exit / entry
    u64 pstate;  // SPSR_EL2
    u64 host_sp; // the core's EL2 stack while the guest runs
    u64 esr;     // exit syndrome
    u64 far;
    u64 hpfar;
    u64 exit_vector; // index of the EL2 vector taken (8..11 for a guest)
    VmStats* stats;  // the VM's counters: the hypercall fast path (world_switch.S) counts here
};
static_assert(offsetof(VcpuContext, pc) == CTX_PC);
static_assert(offsetof(VcpuContext, pstate) == CTX_PSTATE);
static_assert(offsetof(VcpuContext, host_sp) == CTX_HOST_SP);
static_assert(offsetof(VcpuContext, esr) == CTX_ESR);
static_assert(offsetof(VcpuContext, far) == CTX_FAR);
static_assert(offsetof(VcpuContext, hpfar) == CTX_HPFAR);
static_assert(offsetof(VcpuContext, exit_vector) == CTX_EXIT_VECTOR);
static_assert(offsetof(VcpuContext, stats) == CTX_STATS);
static_assert(sizeof(VcpuContext) == CTX_SIZE);
static_assert(offsetof(VmStats, hypercalls) == VMSTATS_HYPERCALLS);

// EL1 (and EL0-visible) system registers a guest owns (D17.2).
struct El1Context {
    u64 sctlr_el1, ttbr0_el1, ttbr1_el1, tcr_el1, mair_el1, amair_el1, vbar_el1;
    u64 esr_el1, far_el1, elr_el1, spsr_el1, sp_el0, sp_el1;
    u64 tpidr_el0, tpidrro_el0, tpidr_el1, contextidr_el1, cpacr_el1, par_el1;
    u64 cntkctl_el1, cntv_ctl_el0, cntv_cval_el0;
    u64 cntp_ctl_el0, cntp_cval_el0, afsr0_el1, afsr1_el1;
};

struct Vcpu {
    VcpuContext ctx;
    El1Context el1;
    Vm* vm;
    u32 index; // vCPU number inside the VM (its virtual MPIDR Aff0)
    u32 core;  // physical core it is pinned to
    u32 on;    // atomic: PSCI state, 1 from CPU_ON (or VM start) until it stops
    VgicCpu gic;
    u64 first_entry_tick; // CNTPCT_EL0 just before the first ERET (boot benchmark)
    // Written by the vCPU's core when it parks for a live update (live_update.cpp).
    u64 parked_lr[16];
    u32 parked_lr_count, parked_ap1r0;
};

// Runs on the vCPU's own core: loads its state, enters the guest, handles exits until
// the VM ends, then tears the VM's arch state down and reports to the core.
void vcpu_run_until_stopped(Vcpu& v);
// A live update's incoming image (docs/handover.md §4.5): the vCPU parked on this core by
// the outgoing image, resumed where it parked (nothing reset or reloaded), until it stops.
void vcpu_resume_adopted(Vcpu& v);
// Hands a vCPU to a core's work loop (smp.cpp).
void hand_vcpu(u32 core, Vcpu& v);
// Puts a vCPU into its reset state: EL1h, DAIF masked, MMU off, x0 = `arg`, at `entry`.
void vcpu_reset(Vcpu& v, u64 entry, u64 arg);

} // namespace keel::arm64

// world_switch.S: enters the guest; returns the exit vector once it exits.
extern "C" keel::u64 arm64_vcpu_run(keel::arm64::VcpuContext* ctx);
