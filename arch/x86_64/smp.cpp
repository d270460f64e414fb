// Application-processor bring-up with INIT-SIPI-SIPI (SDM Vol. 3A 9.4.4.1 "typical BSP
// initialization sequence", 11.6.1), each AP with its own GDT/TSS/IDT, #DF stack and
// stack, and each core's work loop; arch/smp_interface.hpp for x86_64.
//
//   boot CPU                                  AP n
//   trampoline -> 0x8000 (copied, CR3 and ap_entry64 written in; mapped RX until every
//   AP is up)
//   ap_boot_{stack,cpu} = ...
//   INIT, 10 ms, SIPI(0x08), 200 us, SIPI ──> ap_boot.S -> x86_ap_main(n): descriptors,
//   wait for online (bounded)                 GS base, VMXON or EFER.SVME, "cpu n online"
//   ... later: cpu(n).work = vm  ───────────> runs its vCPU of the VM until the VM ends; idle again
#include <string.h>

#include "apic.hpp"
#include "asm_offsets.h"
#include "handover_stay.hpp"
#include "hypervisor/platform.hpp"
#include "hypervisor/print.hpp"
#include "paging.hpp"
#include "percpu.hpp"
#include "virt/backend.hpp"
#include "virt/core_reset.hpp"
#include "virt/quiesce.hpp"
#include "x86.hpp"
#include <arch/smp.hpp>
#include <arch/vm.hpp>

extern "C" char ap_trampoline_start[], ap_trampoline_end[], ap_tramp_cr3[], ap_tramp_entry64[];
extern "C" void ap_entry64();
extern "C" keel::u64 ap_boot_stack, ap_boot_cpu;

namespace keel::x86 {
namespace {

using ull = unsigned long long;
constexpr u64 kTrampoline = KEEL_X86_AP_TRAMPOLINE; // below 1 MiB, page aligned: SIPI 0x08
constexpr u64 kStackSize = 16 * KiB;

alignas(16) u8 g_stacks[kMaxCpus][kStackSize];
PerCpu g_cpus[kMaxCpus];
u32 g_boot_cpu = 0;
bool g_started = false;
u64 g_online = 1;
u64 g_event_seq = 0; // atomic: send_event counts, wait_for_event watches

u32 slot_for(u32 index) { return index == g_boot_cpu ? 0 : index == 0 ? g_boot_cpu : index; }

void set_gs_base(PerCpu& c) { wrmsr(kMsrIa32GsBase, reinterpret_cast<u64>(&c)); }

[[noreturn]] void work_loop(PerCpu& me) {
    u32 seen = 0; // the last live-update quiesce this idle core visited the incoming image in
    for (;;) {
        Vm* vm = __atomic_load_n(&me.work, __ATOMIC_ACQUIRE);
        if (vm == nullptr) {
            virt::visit_while_idle(&seen);
            asm volatile("pause");
            continue;
        }
        virt::vcpu_run_until_stopped(*vm); // the VM's last core tears it down before returning
        // Only if no next VM has been handed to this core meanwhile (the manager reaped
        // this one and started an `after:` VM here).
        __atomic_compare_exchange_n(&me.work, &vm, nullptr, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE);
    }
}

// The copy names only itself and what is written into it here: the hypervisor's page tables
// and where ap_entry64 runs (the image's own address, relocated or not; below 4 GiB).
Status copy_trampoline() {
    const u64 size = static_cast<u64>(ap_trampoline_end - ap_trampoline_start);
    const u64 entry = reinterpret_cast<uptr>(ap_entry64);
    if (entry >> 32 != 0 || read_cr3() >> 32 != 0) return Status::OutOfRange;
    KEEL_TRY(map_phys(kTrampoline, 4096, MapKind::ReadWrite));
    u8* page = reinterpret_cast<u8*>(kTrampoline);
    memcpy(page, ap_trampoline_start, size);
    const u32 cr3 = static_cast<u32>(read_cr3()), at = static_cast<u32>(entry);
    memcpy(page + (ap_tramp_cr3 - ap_trampoline_start), &cr3, sizeof cr3);
    memcpy(page + (ap_tramp_entry64 - ap_trampoline_start), &at, sizeof at);
    KEEL_TRY(unmap_phys(kTrampoline, 4096));
    // The AP turns paging on from the copy (on the hypervisor's tables), so its next fetch
    // and the far pointer it reads must be mapped there: text until every AP is up.
    return map_phys(kTrampoline, 4096, MapKind::Text);
}

bool start_ap(u32 i, u32 apic) {
    PerCpu& c = g_cpus[i];
    c.index = i;
    c.slot = slot_for(i);
    c.apic_id = apic;
    ap_boot_stack = reinterpret_cast<u64>(g_stacks[c.slot] + kStackSize);
    ap_boot_cpu = i;
    asm volatile("mfence" ::
                     : "memory"); // the AP reads these with paging (and so caching) just set up
    apic_send_init(apic);
    io_delay_us(10000);
    for (int n = 0; n < 2; ++n) { // the second STARTUP is ignored if the first worked (9.4.4.1)
        apic_send_startup(apic, static_cast<u8>(kTrampoline >> 12));
        io_delay_us(200);
        if (__atomic_load_n(&c.online, __ATOMIC_ACQUIRE)) break;
    }
    for (u64 spins = 0; !__atomic_load_n(&c.online, __ATOMIC_ACQUIRE) && spins < (1ull << 26);
         ++spins)
        asm volatile("pause");
    return __atomic_load_n(&c.online, __ATOMIC_ACQUIRE) != 0;
}

} // namespace

PerCpu& cpu(u32 index) { return g_cpus[index]; }
PerCpu& this_cpu() { return *reinterpret_cast<PerCpu*>(rdmsr(kMsrIa32GsBase)); }

extern "C" [[noreturn]] void x86_ap_main(u32 index) {
    PerCpu& me = g_cpus[index];
    descriptors_init(me.slot); // from here on exceptions are reported on this CPU too
    set_gs_base(me);
    apic_init_ap();
    const virt::Backend b = virt::backend();
    if (b != virt::Backend::None) me.virt_on = virt::enable_cpu(me.slot, false) == Status::Ok;
    kprint("cpu %u online (apic id %u, %s%s)\n", index, me.apic_id,
           b == virt::Backend::None ? "no VMX or SVM" : virt::backend_name(b),
           b == virt::Backend::None ? ""
           : me.virt_on             ? " on"
                                    : " FAILED");
    __atomic_store_n(&me.online, 1u, __ATOMIC_RELEASE);
    work_loop(me);
}

void hand_vm(u32 core, Vm& vm) { __atomic_store_n(&g_cpus[core].work, &vm, __ATOMIC_RELEASE); }

namespace {

[[noreturn]] void run_on(u64 stack_top, PerCpu& me) {
    asm volatile("mov %0, %%rsp\n\t"
                 "xor %%ebp, %%ebp\n\t"
                 "mov %1, %%rdi\n\t"
                 "call x86_adopted_work_loop\n\t"
                 "ud2" ::"r"(stack_top),
                 "r"(&me)
                 : "memory");
    __builtin_unreachable();
}

} // namespace

u32 smp_adopt(const Platform& platform, u64 online) {
    const u32 self = initial_apic_id();
    const u32 n = platform.cpu_count < kMaxCpus ? platform.cpu_count : kMaxCpus;
    for (u32 i = 0; i < n; ++i)
        if (platform.cpus[i].hw_id == self) g_boot_cpu = i;
    for (u32 i = 0; i < n; ++i) {
        if ((online >> i & 1) == 0) continue;
        PerCpu& c = g_cpus[i];
        c.index = i;
        c.slot = slot_for(i);
        c.apic_id = static_cast<u32>(platform.cpus[i].hw_id);
    }
    g_cpus[g_boot_cpu].online = 1;
    g_online = online & ((n < 64 ? 1ull << n : 0ull) - 1);
    g_started = true;
    return g_boot_cpu;
}

void smp_adopt_boot_core() { set_gs_base(g_cpus[g_boot_cpu]); }

[[noreturn]] void adopted_ap_main() {
    paging_switch(); // the tables the boot core built
    const u32 self = initial_apic_id();
    PerCpu* me = nullptr;
    for (u32 i = 0; i < kMaxCpus; ++i)
        if ((g_online >> i & 1) != 0 && i != g_boot_cpu && g_cpus[i].apic_id == self)
            me = &g_cpus[i];
    if (me == nullptr) {
        kprint("handover: a core with APIC id %u is not one this image adopted: idle for good\n",
               self);
        for (;;)
            asm volatile("cli; hlt");
    }
    descriptors_init(me->slot); // this image's GDT, TSS and IDT from here on
    set_gs_base(*me);
    apic_init_ap();
    me->virt_on = virt::enable_cpu(me->slot, false) == Status::Ok; // its own VM_HSAVE_PA
    __atomic_store_n(&me->online, 1u, __ATOMIC_RELEASE);
    run_on(reinterpret_cast<u64>(g_stacks[me->slot] + kStackSize), *me);
}

} // namespace keel::x86

// The adopted core's work loop on its own stack (run_on): its vCPU first (vm_adopt.cpp left
// the VM in its work slot), then whatever it is handed, as every core.
extern "C" [[noreturn]] void x86_adopted_work_loop(keel::x86::PerCpu* me) {
    keel::x86::work_loop(*me);
}

namespace keel::x86 {} // namespace keel::x86

namespace keel::arch {

bool partitions_supported() { return virt::backend() != virt::Backend::None; }
u32 boot_cpu_index() { return x86::g_boot_cpu; }

// An event register like arm64's WFE/SEV, for the single waiter (the boot core): a wait
// returns once any event was sent since the previous wait returned.
void wait_for_event() {
    static u64 seen = 0;
    u64 now;
    // Assigned devices' MSIs wake the boot core too (virt/vm_msi.cpp: taken here).
    while ((now = __atomic_load_n(&x86::g_event_seq, __ATOMIC_ACQUIRE)) == seen &&
           !x86::msi_arrived())
        asm volatile("pause");
    seen = now;
    x86::tlb_catch_up(); // the boot core's host code resumes here (paging.hpp)
}
void send_event() { __atomic_add_fetch(&x86::g_event_seq, 1, __ATOMIC_RELEASE); }

u64 smp_start(const Platform& platform) {
    using namespace x86;
    if (g_started) return g_online;
    g_started = true;
    if (virt::backend() != virt::Backend::None) virt::core_reset_probe();
    Result<ApicMode> mode = apic_init_boot();
    if (!mode.ok()) {
        kprint("smp: local APIC unusable (%s): boot CPU only\n", status_name(mode.status()));
        return g_online;
    }
    apic_timer_calibrate();
    const u32 self = apic_id();
    u32 n = platform.cpu_count < kMaxCpus ? platform.cpu_count : kMaxCpus;
    if (platform.cpu_count > n)
        kprint("smp: using the first %u of %u cpus\n", n, platform.cpu_count);
    for (u32 i = 0; i < n; ++i)
        if (platform.cpus[i].hw_id == self) g_boot_cpu = i;
    PerCpu& boot = g_cpus[g_boot_cpu];
    boot.index = g_boot_cpu;
    boot.slot = 0;
    boot.apic_id = self;
    boot.online = 1;
    set_gs_base(boot);
    g_online = 1ull << g_boot_cpu;
    kprint("cpu %u online (apic id %u, %s), boot core: hypervisor and console only\n", g_boot_cpu,
           self, mode.value() == ApicMode::X2Apic ? "x2APIC" : "xAPIC");
    if (n > 1) {
        Status s = copy_trampoline();
        if (s != Status::Ok) {
            kprint("smp: cannot place the AP trampoline at %#llx: %s\n",
                   static_cast<ull>(kTrampoline), status_name(s));
            return g_online;
        }
    }
    for (u32 i = 0; i < n; ++i) {
        if (i == g_boot_cpu || !platform.cpus[i].enabled) continue;
        // One at a time: the boot variables are shared, and the log stays in core order.
        if (start_ap(i, static_cast<u32>(platform.cpus[i].hw_id)))
            g_online |= 1ull << i;
        else
            kprint("smp: cpu %u (apic id %llu) did not come online\n", i,
                   static_cast<ull>(platform.cpus[i].hw_id));
    }
    if (n > 1) (void)unmap_phys(kTrampoline, 4096); // never mapped again (nothing starts later)
    kprint("smp: %u of %u cpus online\n", static_cast<u32>(__builtin_popcountll(g_online)), n);
    return g_online;
}

} // namespace keel::arch
