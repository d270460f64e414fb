// The incoming image's boot core once it stays (handover_stay.hpp, docs/handover.md §4
// steps 4-6). Each other core waits in handover_secondary_main for the doorbell's word; the
// PerCpu of each and the vCPU it had parked (vm_adopt.cpp left it in the core's work slot)
// are this image's by now. From the word on, nothing hands back.
#include "handover_stay.hpp"

#include <arch/ticks.hpp>

#include "hypervisor/mailbox/mailbox_main.hpp"
#include "hypervisor/print.hpp"
#include "live_update.hpp"
#include "percpu.hpp"
#include "sysreg.hpp"

namespace keel::arm64 {
namespace {
u32 g_reentered = 0; // adopted vCPUs that re-entered their guest (atomic)
constexpr u64 kReenterMs = 1000;
} // namespace

void vcpu_reentered() { __atomic_add_fetch(&g_reentered, 1u, __ATOMIC_ACQ_REL); }

[[noreturn]] void stay(const update::HandoverView& v, Doorbell& d, const Platform& platform,
                       const char* cmdline, u32 parked) {
    const u64 online = v.old_image->cores_online;
    const u32 boot = smp_adopt(platform, online);
    __atomic_store_n(&d.go, kGoStay, __ATOMIC_RELEASE);
    asm volatile("dsb ish; sev" ::: "memory");
    smp_adopt_boot_core();
    // The health check's first half (§4.6): every parked vCPU back in its guest.
    const u32 back = wait_count(g_reentered, parked, kReenterMs);
    const arch::TickCount now = arch::ticks();
    // The last core done with the doorbell (the update region it lies in is freed soon).
    const u32 arrived = __atomic_load_n(&d.arrived, __ATOMIC_ACQUIRE);
    (void)wait_count(d.left, arrived, kReenterMs);
    g_adopted_dtb = v.old_image->dtb;
    g_adopted_rsdp = v.old_image->dtb == 0 ? v.old_image->acpi_rsdp : 0;
    const u64 ticks = now.count - v.old_image->quiesce_tick;
    const u64 ns = now.hz != 0 ? ticks * 1000000000ull / now.hz : 0;
    kprint("handover: %u of %u vCPUs re-entered their guests, %llu ns after the quiesce began "
           "(counter %llu)\n",
           back, parked, static_cast<unsigned long long>(ns),
           static_cast<unsigned long long>(v.old_image->quiesce_tick));
    mailbox_continue(v, platform, online, boot, cmdline, back == parked, ns);
}

} // namespace keel::arm64
