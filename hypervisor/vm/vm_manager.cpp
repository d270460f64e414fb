#include "hypervisor/vm/vm_manager.hpp"

#include "hypervisor/panic.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/spinlock.hpp"
#include "hypervisor/vm/arch_vm.hpp"
#include "hypervisor/vm/partitions.hpp"

namespace keel {
namespace {

using ull = unsigned long long;

Vm g_vms[Vm::kMaxVms];
u32 g_vm_count = 0;
SpinLock g_cores_lock; // guards g_cores_owned
u64 g_cores_owned = 0;
u64 g_cores_online = 0;
u32 g_boot_cpu = 0;
bool g_bench = false; // keel.bench: the boot core may host a VM (docs/performance.md)

// Whether `word` appears as a whole space-separated word of the command line.
bool has_word(const char* s, const char* word) {
    while (*s) {
        while (*s == ' ')
            ++s;
        usize i = 0;
        while (word[i] && s[i] == word[i])
            ++i;
        if (!word[i] && (s[i] == ' ' || s[i] == '\0')) return true;
        while (*s && *s != ' ')
            ++s;
    }
    return false;
}

VmState state_of(const Vm& vm) { return vm.state(); }
void set_state(Vm& vm, VmState s) { vm.set_state(s); }

void reject(Vm& vm, VmDefError e) {
    kprint("vm %u: rejected \"keel.vm=%s\": %s\n", vm.id, vm.def.text, vm_def_error_text(e));
    set_state(vm, VmState::Rejected);
}

u32 lowest_bit(u64 m) {
    u32 i = 0;
    while (!(m & 1))
        m >>= 1, ++i;
    return i;
}

void start(Vm& vm) {
    vm.set_state(VmState::Running);
    Status s = arch::vm_start(vm);
    if (s != Status::Ok)
        panic("vm %u: start on cpu %u failed: %s", vm.id, vm.first_cpu, status_name(s));
}

// Checks and creates a VM (memory zeroed, stage-2 built, guest loaded); true if it is
// ready to start.
bool admit(Vm& vm) {
    AdmitContext ctx;
    ctx.cores_present = g_cores_online;
    ctx.cores_reserved = g_bench ? 0 : 1ull << g_boot_cpu;
    ctx.pool_free = pool_free_bytes();
    {
        LockGuard g(g_cores_lock);
        ctx.cores_owned = g_cores_owned;
        VmDefError e = check_vm_def(vm.def, ctx);
        if (e != VmDefError::None) {
            reject(vm, e);
            return false;
        }
        g_cores_owned |= vm.def.cpu_mask;
    }
    auto mem = pool_alloc(vm.def.mem_bytes, vm.id);
    if (!mem.ok()) {
        LockGuard g(g_cores_lock);
        g_cores_owned &= ~vm.def.cpu_mask;
        reject(vm, VmDefError::NoMemory); // enough free, but not contiguous
        return false;
    }
    vm.mem_base = mem.value();
    vm.mem_size = vm.def.mem_bytes;
    vm.first_cpu = lowest_bit(vm.def.cpu_mask);
    Status s = arch::vm_create(vm);
    if (s != Status::Ok) {
        kprint("vm %u: create failed: %s\n", vm.id, status_name(s));
        (void)pool_release(vm.id);
        LockGuard g(g_cores_lock);
        g_cores_owned &= ~vm.def.cpu_mask;
        set_state(vm, VmState::Rejected);
        return false;
    }
    kprint("vm %u: created: cpus %#llx, %llu MiB at pa %#llx (ipa %#llx), stage-2 %u tables "
           "(%u KiB)\n",
           vm.id, static_cast<ull>(vm.def.cpu_mask), static_cast<ull>(vm.mem_size / MiB),
           static_cast<ull>(vm.mem_base.raw()), static_cast<ull>(vm.ram_ipa().raw()),
           vm.stage2_tables, vm.stage2_tables * 4);
    return true;
}

bool all_done() {
    for (u32 i = 0; i < g_vm_count; ++i) {
        VmState s = state_of(g_vms[i]);
        if (s != VmState::Destroyed && s != VmState::Rejected) return false;
    }
    return true;
}

} // namespace

const char* vm_end_name(VmEnd e) {
    switch (e) {
    case VmEnd::None: return "running";
    case VmEnd::GuestPowerOff: return "guest power-off";
    case VmEnd::GuestReset: return "guest reset";
    case VmEnd::Fault: return "fault";
    case VmEnd::ControllerStop: return "stopped by the controller";
    }
    return "?";
}

u32 vm_definition_count(const char* cmdline) {
    return for_each_vm_word(cmdline, [](u32, const char*, usize) {});
}

void run_vms(const char* cmdline, u64 cores_online, u32 boot_cpu) {
    g_cores_online = cores_online;
    g_boot_cpu = boot_cpu;
    g_bench = has_word(cmdline, "keel.bench") && arch::boot_core_runs_vcpus();
    if (g_bench) kprint("keel: bench mode: VMs may use the boot core %u\n", boot_cpu);
    u32 n = for_each_vm_word(cmdline, [](u32 i, const char* text, usize len) {
        if (i >= Vm::kMaxVms) {
            kprint("vm %u: rejected: at most %u VMs\n", i + 1, Vm::kMaxVms);
            return;
        }
        Vm& vm = g_vms[i];
        vm.id = static_cast<u16>(i + 1);
        VmDefError e = parse_vm_def(text, len, vm.def);
        if (e == VmDefError::None && vm.def.after != 0 &&
            (vm.def.after >= vm.id || state_of(g_vms[vm.def.after - 1]) == VmState::Rejected))
            e = VmDefError::BadAfter;
        if (e != VmDefError::None) reject(vm, e);
    });
    g_vm_count = n < Vm::kMaxVms ? n : Vm::kMaxVms;
    // Guest sources (Linux Image, initrd) leave the pool before anyone gets memory.
    for (u32 i = 0; i < g_vm_count; ++i) {
        Vm& vm = g_vms[i];
        if (state_of(vm) != VmState::Defined) continue;
        Status s = arch::vm_reserve_sources(vm.def);
        if (s != Status::Ok) {
            kprint("vm %u: rejected \"keel.vm=%s\": guest sources: %s\n", vm.id, vm.def.text,
                   status_name(s));
            set_state(vm, VmState::Rejected);
        }
    }

    // Boot-time VMs: create all, then start all, so they run side by side.
    bool ready[Vm::kMaxVms] = {};
    for (u32 i = 0; i < g_vm_count; ++i)
        if (state_of(g_vms[i]) == VmState::Defined && g_vms[i].def.after == 0)
            ready[i] = admit(g_vms[i]);
    for (u32 i = 0; i < g_vm_count; ++i)
        if (ready[i]) start(g_vms[i]);
    for (;;) {
        for (u32 i = 0; i < g_vm_count; ++i) {
            Vm& vm = g_vms[i];
            if (state_of(vm) != VmState::Defined) continue;
            VmState pred = state_of(g_vms[vm.def.after - 1]);
            if (pred == VmState::Destroyed) {
                if (admit(vm)) start(vm);
            } else if (pred == VmState::Rejected)
                reject(vm, VmDefError::BadAfter);
        }
        if (all_done()) break;
        if (g_bench) arch::run_local_work();
        arch::wait_for_event();
    }

    for (u32 i = 0; i < g_vm_count; ++i) {
        const Vm& vm = g_vms[i];
        if (state_of(vm) != VmState::Destroyed) continue;
        kprint(
            "vm %u: summary: %s, %u exits, %u console lines, %u hypercalls, %u aborts injected\n",
            vm.id, vm_end_name(vm.end), vm.stats.exits, vm.stats.console_lines, vm.stats.hypercalls,
            vm.stats.aborts_injected);
    }
    u64 free = pool_free_bytes();
    kprint("keel: all VMs ended, pool %llu MiB, baseline %llu MiB\n", static_cast<ull>(free / MiB),
           static_cast<ull>(pool_baseline() / MiB));
    if (free != pool_baseline())
        panic("pool leaked %llu bytes", static_cast<ull>(pool_baseline() - free));
}

void vm_stopped(Vm& vm, VmEnd end) {
    vm.end = end;
    u64 free = pool_release(vm.id);
    {
        LockGuard g(g_cores_lock);
        g_cores_owned &= ~vm.def.cpu_mask;
    }
    kprint("vm %u: destroyed (%s), pool back to %llu MiB\n", vm.id, vm_end_name(end),
           static_cast<ull>(free / MiB));
    set_state(vm, VmState::Destroyed);
    arch::send_event();
}

} // namespace keel
