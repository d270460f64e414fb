// Secondary core bring-up with PSCI CPU_ON, and each core's work loop.
//
//   boot core                         secondary core n
//   fill PerCpu[n], clean to PoC
//   CPU_ON(mpidr, secondary_entry, &PerCpu[n]) ──> secondary_entry (MMU off): vectors, stack
//   wait for online                   arm64_secondary_main: shared EL2 tables, MMU on,
//                                     EL2 guest config, "cpu n online", online = 1
//   ... later: PerCpu[n].work = vcpu, SEV ──> run the vCPU until its VM ends, idle again
#include <stddef.h>

#include "bench_marks.hpp"
#include "cache_ops.hpp"
#include "core_reset.hpp"
#include "el2_regs.hpp"
#include "gic_phys.hpp"
#include "hypervisor/platform.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/vm/vm.hpp"
#include "live_update.hpp"
#include "mmu.hpp"
#include "percpu.hpp"
#include "psci.hpp"
#include "smp_offsets.h"
#include "sysreg.hpp"
#include "vcpu.hpp"
#include <arch/sections.hpp>
#include <arch/smp.hpp>

extern "C" char secondary_entry[];
extern "C" char el2_guest_vectors[];

namespace keel::arm64 {

static_assert(offsetof(PerCpu, stack_top) == PERCPU_STACK_TOP);

namespace {

constexpr u64 kStackSize = 16 * KiB;
constexpr u64 kMpidrAffMask = 0xff00ffffffull; // Aff3, Aff2, Aff1, Aff0 (D17.2.101)

KEEL_NOINIT alignas(16) u8 g_stacks[PerCpu::kMaxCpus][kStackSize];
PerCpu g_cpus[PerCpu::kMaxCpus];
u32 g_boot_cpu = 0;

[[noreturn]] void work_loop(PerCpu& me) {
    u32 quiesces_seen = 0;
    for (;;) {
        Vcpu* v = __atomic_load_n(&me.work, __ATOMIC_ACQUIRE);
        if (v == nullptr) {
            visit_while_idle(&quiesces_seen); // a live update moves idle cores too
            asm volatile("wfe");
            continue;
        }
        // Clears me.work itself before the vCPU reads as off, so a CPU_ON that follows
        // at once is not lost; tears the VM down if it was the VM's last vCPU.
        vcpu_run_until_stopped(*v);
    }
}

} // namespace

PerCpu& cpu(u32 index) { return g_cpus[index]; }
PerCpu& this_cpu() { return *reinterpret_cast<PerCpu*>(KEEL_READ_SYSREG(tpidr_el2)); }

extern "C" [[noreturn]] void arm64_secondary_main(PerCpu* me) {
    el2_enable_mmu(); // the boot core's tables: one EL2 address space for all cores
    KEEL_WRITE_SYSREG(tpidr_el2, reinterpret_cast<u64>(me));
    el2_setup_for_guests();
    gic_init_this_cpu();
    kprint("cpu %llu online (mpidr %#llx)\n", static_cast<unsigned long long>(me->index),
           static_cast<unsigned long long>(me->mpidr));
    __atomic_store_n(&me->online, 1u, __ATOMIC_RELEASE);
    asm volatile("sev");
    work_loop(*me);
}

// A core a live update brought over (keel_adopted_secondary): this image's vectors and
// stack, the EL2 guest configuration (no EL1, FP/SIMD or ICH_* register: the guest's state
// is still in the core), its redistributor found, not re-initialised; then the vCPU the
// boot core left in `work`, resumed where it parked, and the work loop as usual.
extern "C" [[noreturn]] void arm64_adopted_secondary_main(PerCpu* me) {
    KEEL_WRITE_SYSREG(tpidr_el2, reinterpret_cast<u64>(me));
    el2_setup_for_guests();
    gic_adopt_this_cpu();
    __atomic_store_n(&me->online, 1u, __ATOMIC_RELEASE);
    if (Vcpu* v = __atomic_load_n(&me->work, __ATOMIC_ACQUIRE); v != nullptr)
        vcpu_resume_adopted(*v);
    work_loop(*me);
}

u32 smp_adopt(const Platform& platform, u64 online) {
    const u64 self = KEEL_READ_SYSREG(mpidr_el1) & kMpidrAffMask;
    const u32 n = platform.cpu_count < PerCpu::kMaxCpus ? platform.cpu_count : PerCpu::kMaxCpus;
    for (u32 i = 0; i < n; ++i) {
        if ((online >> i & 1) == 0) continue;
        PerCpu& c = g_cpus[i];
        c.stack_top = reinterpret_cast<u64>(g_stacks[i] + kStackSize);
        c.index = i;
        c.mpidr = platform.cpus[i].hw_id;
        if (c.mpidr == self) g_boot_cpu = i;
    }
    gic_adopt(platform); // before any core looks for its redistributor
    return g_boot_cpu;
}

// The boot core as this image's: its PerCpu, the guest vectors, the EL2 guest configuration
// and what a vCPU reset needs to know of the core (at boot and after a live update alike).
static void set_up_boot_core() {
    PerCpu& boot = g_cpus[g_boot_cpu];
    boot.online = 1;
    KEEL_WRITE_SYSREG(tpidr_el2, reinterpret_cast<u64>(&boot));
    KEEL_WRITE_SYSREG(vbar_el2, reinterpret_cast<u64>(el2_guest_vectors));
    el2_setup_for_guests();
    core_reset_probe();
}

void smp_adopt_boot_core() {
    set_up_boot_core();
    gic_adopt_this_cpu();
}

PerCpu* cpu_by_mpidr(u64 mpidr) {
    for (PerCpu& c : g_cpus)
        if (c.stack_top != 0 && c.mpidr == (mpidr & kMpidrAffMask)) return &c;
    return nullptr;
}

void hand_vcpu(u32 core, Vcpu& v) {
    __atomic_store_n(&g_cpus[core].work, &v, __ATOMIC_RELEASE);
    dsb_ish();
    asm volatile("sev");
}

} // namespace keel::arm64

namespace keel::arch {

bool partitions_supported() { return true; }
u32 boot_cpu_index() { return arm64::g_boot_cpu; }
void wait_for_event() { asm volatile("wfe"); }
bool boot_core_runs_vcpus() { return true; }
// The boot core is set up for guests like any other (smp_start: vectors, EL2 guest
// configuration, GIC); a vCPU handed to it runs here until its VM ends.
void run_local_work() {
    using namespace arm64;
    Vcpu* v = __atomic_load_n(&this_cpu().work, __ATOMIC_ACQUIRE);
    if (v == nullptr) return;
    static bool reported = false;
    if (!reported) {
        reported = true;
        using ull = unsigned long long;
        kprint("keel: bench: boot marks (cntpct): boot_main %llu, mmu on %llu, platform discovered "
               "%llu, feature report %llu\n",
               static_cast<ull>(g_boot_marks[0]), static_cast<ull>(g_boot_marks[1]),
               static_cast<ull>(g_boot_marks[2]), static_cast<ull>(g_boot_marks[3]));
    }
    Vm* vm = v->vm;
    const u32 id = vm->id, index = v->index;
    vcpu_run_until_stopped(*v);
    // The Vcpu stays in its VM slot after teardown; only its tick is read here.
    kprint("vm %u: vcpu %u first entry at cntpct %llu\n", id, index,
           static_cast<unsigned long long>(v->first_entry_tick));
}
void send_event() {
    arm64::dsb_ish();
    asm volatile("sev");
}

u64 smp_start(const Platform& platform) {
    using namespace arm64;
    using ull = unsigned long long;
    u64 self = KEEL_READ_SYSREG(mpidr_el1) & kMpidrAffMask;
    u32 n = platform.cpu_count < PerCpu::kMaxCpus ? platform.cpu_count : PerCpu::kMaxCpus;
    if (platform.cpu_count > n)
        kprint("smp: using the first %u of %u cpus\n", n, platform.cpu_count);
    for (u32 i = 0; i < n; ++i)
        if (platform.cpus[i].hw_id == self) g_boot_cpu = i;
    PerCpu& boot = g_cpus[g_boot_cpu];
    boot.index = g_boot_cpu;
    boot.mpidr = self;
    set_up_boot_core();
    gic_init_boot(platform);
    gic_init_this_cpu();
    kprint("cpu %u online (mpidr %#llx), boot core: hypervisor and console only\n", g_boot_cpu,
           static_cast<ull>(self));
    u64 online = 1ull << g_boot_cpu;
    for (u32 i = 0; i < n; ++i) {
        if (i == g_boot_cpu || !platform.cpus[i].enabled) continue;
        PerCpu& c = g_cpus[i];
        c.stack_top = reinterpret_cast<u64>(g_stacks[i] + kStackSize);
        c.index = i;
        c.mpidr = platform.cpus[i].hw_id;
        // The secondary reads it with its MMU (and so its caches) off.
        dcache_clean_poc(reinterpret_cast<u64>(&c), sizeof c);
        u64 r = psci_call(kPsciCpuOn64, c.mpidr, reinterpret_cast<u64>(secondary_entry),
                          reinterpret_cast<u64>(&c));
        if (r != 0) {
            kprint("smp: cpu %u (mpidr %#llx): PSCI CPU_ON failed (%lld)\n", i,
                   static_cast<ull>(c.mpidr), static_cast<long long>(r));
            continue;
        }
        // One at a time: keeps the boot log in core order and bounds the wait.
        u64 spins = 0;
        while (__atomic_load_n(&c.online, __ATOMIC_ACQUIRE) == 0 && ++spins < (1ull << 28))
            asm volatile("wfe");
        if (c.online)
            online |= 1ull << i;
        else
            kprint("smp: cpu %u did not come online\n", i);
    }
    return online;
}

} // namespace keel::arch
