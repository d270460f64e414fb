// The incoming x86 image's boot core once it stays (handover_stay.hpp, docs/handover.md §4
// steps 4-6, §5.1). Each other core waits in x86_handover_secondary_main for the doorbell's
// word; the per-CPU slot of each and the VM it ran are this image's by now (smp_adopt,
// vm_adopt.cpp). From the word on, nothing hands back.
#include "handover_stay.hpp"

#include <arch/ticks.hpp>
#include <string.h>

#include "apic.hpp"
#include "cmos_clock.hpp"
#include "descriptors.hpp"
#include "hypervisor/mailbox/mailbox_main.hpp"
#include "hypervisor/print.hpp"
#include "paging.hpp"
#include "percpu.hpp"
#include "tsc.hpp"
#include "virt/core_reset.hpp"

namespace keel::x86 {
namespace {

u32 g_reentered = 0; // adopted vCPUs about to re-enter their guests (atomic)
u64 g_last_back = 0; // the TSC when the last of them was (atomic: the largest reading)
constexpr u32 kMaxSteps = 12;
u64 g_step_at[kMaxSteps];
const char* g_step_name[kMaxSteps];
u32 g_steps = 0;
constexpr u64 kReenterMs = 1000;
alignas(16) u8 g_rsdp[36]; // an ACPI 2.0+ RSDP (ACPI 6.5 5.2.5.3), copied
u64 g_rsdp_at = 0;

// The RSDP where the next image can find it: kept where it is unless it lies inside the
// outgoing image, whose memory the commit frees (a Multiboot2 boot's copy).
void keep_rsdp(const update::OldImageRecord& old) {
    g_rsdp_at = old.acpi_rsdp;
    if (old.acpi_rsdp - old.base < old.span) {
        memcpy(g_rsdp, reinterpret_cast<const void*>(old.acpi_rsdp), sizeof g_rsdp);
        g_rsdp_at = reinterpret_cast<uptr>(g_rsdp);
    }
}

} // namespace

void vcpu_resumed(u16 vm_id) {
    this_cpu().last_vm = vm_id; // its core ran this VM last (core_reset.cpp)
    const u64 now = __builtin_ia32_rdtsc();
    u64 seen = __atomic_load_n(&g_last_back, __ATOMIC_RELAXED);
    while (seen < now && !__atomic_compare_exchange_n(&g_last_back, &seen, now, true,
                                                      __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    __atomic_add_fetch(&g_reentered, 1u, __ATOMIC_ACQ_REL);
}

void mark_step(const char* name) {
    if (g_steps == kMaxSteps) return;
    g_step_at[g_steps] = __builtin_ia32_rdtsc();
    g_step_name[g_steps++] = name;
}

u64 adopted_rsdp() { return g_rsdp_at; }

u32 wait_count(const u32& counter, u32 n, u64 ms) {
    const u64 hz = tsc_hz(), t0 = __builtin_ia32_rdtsc();
    const u64 limit = hz != 0 ? hz / 1000 * ms : ms * 1000000;
    for (u64 spins = 0; __atomic_load_n(&counter, __ATOMIC_ACQUIRE) < n; ++spins) {
        if ((hz != 0 ? __builtin_ia32_rdtsc() - t0 : spins) > limit) break;
        asm volatile("pause" ::: "memory");
    }
    return __atomic_load_n(&counter, __ATOMIC_ACQUIRE);
}

[[noreturn]] void stay(const update::HandoverView& v, update::Doorbell& d, const Platform& platform,
                       u32 boot, u32 arrived, u32 parked, u64 timer_per_tsc_q32) {
    const update::OldImageRecord& old = *v.old_image;
    keep_rsdp(old); // while the flat map still reaches the outgoing image
    mark_step("stay");
    paging_switch();
    descriptors_init(0); // the boot core's slot
    smp_adopt_boot_core();
    mark_step("own tables");
    // The kick timers' rate (every core's timer runs at the boot core's), before any core
    // enters a guest: a guest entered without its kick timer would run on past its virtual
    // timers' deadlines until something else made it exit.
    if (timer_per_tsc_q32 != 0)
        apic_timer_adopt(timer_per_tsc_q32);
    else
        apic_timer_calibrate();
    mark_step("LAPIC timer");
    __atomic_store_n(&d.go, update::kGoStay, __ATOMIC_RELEASE);
    cmos_clock_init();
    virt::core_reset_probe();
    mark_step("clock");
    // The health check's first half (§4.6): every parked vCPU back in its guest. The blackout
    // ends when the last of them re-entered, which the boot core's own steps may outlast.
    const u32 back = wait_count(g_reentered, parked, kReenterMs);
    const arch::TickCount now = arch::ticks();
    // The last core done with the doorbell (the update region it lies in is freed soon).
    (void)wait_count(d.left, arrived, kReenterMs);
    const u64 last =
        back == parked && parked != 0 ? __atomic_load_n(&g_last_back, __ATOMIC_ACQUIRE) : now.count;
    auto ns_after = [&](u64 t) {
        return now.hz != 0 ? (t - old.quiesce_tick) * 1000000000ull / now.hz : 0;
    };
    const u64 ns = ns_after(last);
    char steps[300];
    usize at = 0;
    for (u32 i = 0; i < g_steps && at < sizeof steps; ++i)
        at += format(steps + at, sizeof steps - at, "%s%s %llu", i != 0 ? ", " : "", g_step_name[i],
                     static_cast<unsigned long long>(ns_after(g_step_at[i])));
    kprint("handover: timing: ns after the quiesce began: %s\n", steps);
    kprint("handover: %u of %u vCPUs re-entered their guests, %llu ns after the quiesce began "
           "(counter %llu)\n",
           back, parked, static_cast<unsigned long long>(ns),
           static_cast<unsigned long long>(old.quiesce_tick));
    // The running Keel's command line, in this image (the record's memory is freed at the
    // commit).
    static char cmdline[sizeof old.cmdline + 1];
    memcpy(cmdline, old.cmdline, sizeof old.cmdline);
    cmdline[sizeof old.cmdline] = '\0';
    mailbox_continue(v, platform, old.cores_online, boot, cmdline, back == parked, ns);
}

} // namespace keel::x86
