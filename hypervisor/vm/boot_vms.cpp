#include "hypervisor/vm/boot_vms.hpp"

#include <arch/smp.hpp>
#include <arch/vm.hpp>
#include <string.h>

#include "hypervisor/cmdline.hpp"
#include "hypervisor/panic.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/vm/builtin_guest.hpp"
#include "hypervisor/vm/partitions.hpp"
#include "hypervisor/vm/vm_manager.hpp"

namespace keel {
namespace {

using ull = unsigned long long;

// The client's own bookkeeping: the parsed definitions and which were refused. VM ids
// are the 1-based positions of the keel.vm= words, so an `after:` never shifts.
struct BootDef {
    VmDef def;
    bool rejected = false;
    bool created = false;
    u64 kernel_extent = 0; // bytes of the Linux Image from its load address
    bool holds_kernel = false, holds_initrd = false;
};
BootDef g_defs[Vm::kMaxVms];
u32 g_count = 0;

// Guest sources held out of the pool; definitions naming the same range share it.
struct Source {
    u64 base = 0, size = 0;
    u32 users = 0;
};
Source g_sources[2 * Vm::kMaxVms];

Source* find_source(u64 base) {
    for (Source& s : g_sources)
        if (s.users != 0 && s.base == base) return &s;
    return nullptr;
}

Status hold_source(u64 base, u64 size) {
    if (Source* s = find_source(base)) {
        if (s->size != size) return Status::Busy; // the same RAM read as two different things
        ++s->users;
        return Status::Ok;
    }
    for (Source& s : g_sources) {
        if (s.users != 0) continue;
        KEEL_TRY(pool_claim_source(PhysAddr(base), size));
        s = Source{base, size, 1};
        return Status::Ok;
    }
    return Status::NoMemory;
}

void drop_source(u64 base) {
    Source* s = find_source(base);
    if (s != nullptr && --s->users == 0) pool_release_source(PhysAddr(s->base), s->size);
}

void drop_sources(BootDef& b) {
    if (b.holds_kernel) drop_source(b.def.kernel_pa);
    if (b.holds_initrd) drop_source(b.def.initrd_pa);
    b.holds_kernel = b.holds_initrd = false;
}

// A definition that will not run: its sources go back to the pool (if nobody else uses them).
void give_up(u32 id) {
    g_defs[id - 1].rejected = true;
    drop_sources(g_defs[id - 1]);
}

void reject(u32 id, VmDefError e) {
    kprint("vm %u: rejected \"keel.vm=%s\": %s\n", id, g_defs[id - 1].def.text,
           vm_def_error_text(e));
    give_up(id);
}

const char* source_error(Status s) {
    switch (s) {
    case Status::OutOfRange:
        return "not free RAM the pool manages (outside RAM, or the hypervisor's image, firmware "
               "or boot data), or larger than the VM's memory";
    case Status::Busy: return "overlaps a range another source or definition holds";
    default: return status_name(s);
    }
}

// Takes a Linux definition's sources (Image, initrd) out of the pool before any VM gets
// memory. Every range is checked against the pool (so against the boot memory map) before
// a byte of it is read; the Image's own header then says how far it reaches, bounded by
// the VM's memory.
Status hold_sources(BootDef& b) {
    const VmDef& d = b.def;
    u8 head[GuestImage::kHeadBytes];
    if (find_source(d.kernel_pa) == nullptr)
        KEEL_TRY(pool_check_source(PhysAddr(d.kernel_pa), sizeof head));
    KEEL_TRY(arch::read_host(PhysAddr(d.kernel_pa), head, sizeof head));
    Result<u64> extent = arch::kernel_extent(head, sizeof head);
    if (!extent.ok()) return extent.status();
    if (extent.value() > d.mem_bytes || d.initrd_size > d.mem_bytes) return Status::OutOfRange;
    b.kernel_extent = extent.value();
    KEEL_TRY(hold_source(d.kernel_pa, b.kernel_extent));
    b.holds_kernel = true;
    if (d.initrd_size) {
        KEEL_TRY(hold_source(d.initrd_pa, d.initrd_size));
        b.holds_initrd = true;
    }
    return Status::Ok;
}

Status reserve_sources(BootDef& b) {
    if (!b.def.is_linux()) return Status::Ok;
    const Status s = hold_sources(b);
    if (s != Status::Ok) drop_sources(b);
    return s;
}

// Linux: the Image at RAM offset 0, the initrd at the next 2 MiB boundary after it.
u64 initrd_offset(const BootDef& b) { return align_up(b.kernel_extent, 2 * MiB); }

Status load(u32 id, const BootDef& b) {
    VmManager& m = vm_manager();
    if (b.def.is_linux()) {
        KEEL_TRY(m.load_host(id, 0, PhysAddr(b.def.kernel_pa), b.kernel_extent));
        if (b.def.initrd_size)
            KEEL_TRY(
                m.load_host(id, initrd_offset(b), PhysAddr(b.def.initrd_pa), b.def.initrd_size));
    } else {
        const GuestBlob g = builtin_test_guest();
        KEEL_TRY(m.load(id, 0, g.data, g.size));
    }
    return m.seal(id);
}

// Admits, creates and loads VM `id`; true if it is ready to start.
bool admit(u32 id) {
    BootDef& b = g_defs[id - 1];
    VmManager& m = vm_manager();
    if (!b.def.is_linux() && builtin_test_guest().size == 0) {
        reject(id, VmDefError::NoTestGuest);
        return false;
    }
    VmDefError why = VmDefError::None;
    Status s = m.create(id, b.def.cpu_mask, b.def.mem_bytes, &why);
    if (s != Status::Ok) {
        if (why != VmDefError::None)
            reject(id, why);
        else {
            kprint("vm %u: create failed: %s\n", id, status_name(s));
            give_up(id);
        }
        return false;
    }
    b.created = true;
    m.set_label(id, b.def.text);
    s = load(id, b);
    if (s != Status::Ok) {
        kprint("vm %u: load failed: %s\n", id, status_name(s));
        (void)m.destroy(id);
        b.created = false;
        give_up(id);
        return false;
    }
    if (b.def.has_vf) {
        u32 vf_why = 0;
        s = m.attach_device(id, b.def.vf_rid, &vf_why); // the refusal is printed
        if (s != Status::Ok) {
            (void)m.destroy(id);
            b.created = false;
            give_up(id);
            return false;
        }
    }
    const Vm& vm = *m.find(id);
    kprint("vm %u: created: cpus %#llx, %llu MiB at pa %#llx (ipa %#llx), stage-2 %u tables "
           "(%u KiB)\n",
           vm.id, static_cast<ull>(vm.cpu_mask), static_cast<ull>(vm.mem_size / MiB),
           static_cast<ull>(vm.mem_base.raw()), static_cast<ull>(vm.ram_ipa().raw()),
           vm.stage2_tables, vm.stage2_tables * 4);
    return true;
}

void start(u32 id) {
    const BootDef& b = g_defs[id - 1];
    VmManager& m = vm_manager();
    GuestImage img;
    img.raw_mode = static_cast<u32>(b.def.mode);
    if (b.def.is_linux()) {
        img.kind = GuestKind::Linux;
        img.kernel_bytes = b.kernel_extent;
        img.initrd_offset = b.def.initrd_size ? initrd_offset(b) : 0;
        img.initrd_bytes = b.def.initrd_size;
        static_assert(sizeof img.cmdline >= VmDef::kArgsMax);
        memcpy(img.cmdline, b.def.args, sizeof b.def.args);
    }
    m.set_initial_input(id, b.def.input);
    const Status s = m.start(id, img);
    if (s != Status::Ok) {
        kprint("vm %u: start on cpu %u failed: %s\n", id, m.find(id)->first_cpu, status_name(s));
        (void)m.destroy(id);
        g_defs[id - 1].created = false;
        give_up(id);
    }
}

bool ended(u32 id) { return vm_manager().state(id) == VmState::Stopped; }

bool all_done() {
    for (u32 id = 1; id <= g_count; ++id)
        if (!g_defs[id - 1].rejected && !ended(id)) return false;
    return true;
}

} // namespace

u32 vm_definition_count(const char* cmdline) {
    return for_each_vm_word(cmdline, [](u32, const char*, usize) {});
}

void run_boot_vms(const char* cmdline, u64 cores_online, u32 boot_cpu, void (*when_idle)()) {
    const bool bench = Cmdline(cmdline).has("keel.bench") && arch::boot_core_runs_vcpus();
    if (bench) kprint("keel: bench mode: VMs may use the boot core %u\n", boot_cpu);
    VmManager& m = vm_manager();
    m.init(HostCores{cores_online, bench ? 0 : 1ull << boot_cpu});
    for (BootDef& b : g_defs)
        b = BootDef{};
    for (Source& s : g_sources)
        s = Source{};
    const u32 n = for_each_vm_word(cmdline, [](u32 i, const char* text, usize len) {
        if (i >= Vm::kMaxVms) {
            kprint("vm %u: rejected: at most %u VMs\n", i + 1, Vm::kMaxVms);
            return;
        }
        const u32 id = i + 1;
        VmDef& d = g_defs[i].def;
        VmDefError e = parse_vm_def(text, len, d);
        if (e == VmDefError::None && d.after != 0 &&
            (d.after >= id || g_defs[d.after - 1].rejected))
            e = VmDefError::BadAfter;
        if (e != VmDefError::None) reject(id, e);
    });
    g_count = n < Vm::kMaxVms ? n : Vm::kMaxVms;
    // Guest sources (Linux Image, initrd) leave the pool before anyone gets memory.
    for (u32 id = 1; id <= g_count; ++id) {
        BootDef& b = g_defs[id - 1];
        if (b.rejected) continue;
        const Status s = reserve_sources(b);
        if (s != Status::Ok) {
            kprint("vm %u: rejected \"keel.vm=%s\": guest sources: %s\n", id, b.def.text,
                   source_error(s));
            b.rejected = true;
        }
    }

    // Boot-time VMs: create all, then start all, so they run side by side.
    bool ready[Vm::kMaxVms] = {};
    for (u32 id = 1; id <= g_count; ++id)
        if (!g_defs[id - 1].rejected && g_defs[id - 1].def.after == 0) ready[id - 1] = admit(id);
    for (u32 id = 1; id <= g_count; ++id)
        if (ready[id - 1]) start(id);
    for (;;) {
        (void)m.poll();
        for (u32 id = 1; id <= g_count; ++id) {
            BootDef& b = g_defs[id - 1];
            if (b.rejected || b.created) continue;
            const BootDef& pred = g_defs[b.def.after - 1];
            if (pred.rejected)
                reject(id, VmDefError::BadAfter);
            else if (ended(b.def.after) && admit(id))
                start(id);
        }
        if (all_done()) break;
        if (bench) arch::run_local_work(); // returns once the vCPU it ran has stopped
        if (when_idle != nullptr) {
            when_idle();
            when_idle = nullptr;
        }
        arch::wait_for_event();
    }
    if (when_idle != nullptr) when_idle();

    for (u32 id = 1; id <= g_count; ++id) {
        const Vm* vm = m.find(id);
        if (vm == nullptr || vm->state != VmState::Stopped) continue;
        kprint("vm %u: summary: %s, %u exits, %u console lines, %u hypercalls, %u aborts injected, "
               "%u irq exits, %u msis\n",
               vm->id, vm_end_name(vm->end), vm->stats.exits, vm->stats.console_lines,
               vm->stats.hypercalls, vm->stats.aborts_injected, vm->stats.irq_exits,
               vm->stats.msis);
    }
    for (u32 id = 1; id <= g_count; ++id)
        if (g_defs[id - 1].created) (void)m.destroy(id);
    const u64 free = pool_free_bytes();
    kprint("keel: all VMs ended, pool %llu MiB, baseline %llu MiB\n", static_cast<ull>(free / MiB),
           static_cast<ull>(pool_baseline() / MiB));
    if (free != pool_baseline())
        panic("pool leaked %llu bytes", static_cast<ull>(pool_baseline() - free));
}

} // namespace keel
