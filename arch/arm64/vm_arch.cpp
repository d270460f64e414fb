// Stage-2 tables and guest loading for arm64 VMs; vm_create/vm_start for the core.
#include "vm_arch.hpp"

#include <string.h>

#include "el2_regs.hpp"
#include "gic_phys.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/spinlock.hpp"
#include "hypervisor/vm/arch_vm.hpp"
#include "hypervisor/vm/partitions.hpp"
#include "hypervisor/vm/vm_manager.hpp"
#include "linux_loader.hpp"
#include "percpu.hpp"
#include "scrubber.hpp"
#include "sysreg.hpp"

extern "C" const char keel_test_guest_start[], keel_test_guest_end[];

namespace keel::arm64 {
namespace {

// Stage-2 table pages for all VMs, inside the image (never the partition pool). A VM
// with block-aligned RAM needs 2 pages (level-1 root + one level-2 table).
mm::TableStorage<64> g_table_pages;
constinit mm::TablePool g_tables{g_table_pages};

VmArch& slot(u32 id) {
    // Function-local: runs its constructors on first use, on the boot core (no
    // init_array walk in the image).
    static VmArch slots[Vm::kMaxVms];
    return slots[id - 1];
}

} // namespace

VmArch& vm_arch(const Vm& vm) { return slot(vm.id); }

void vm_teardown(Vm& vm, VmEnd end) {
    VmArch& a = vm_arch(vm);
    (void)a.stage2.unmap(vm.ram_ipa(), vm.mem_size);
    // VTTBR_EL2 still holds this VMID: drop its stage-1+2 entries on every core
    // (TLBI VMALLS12E1IS, D8.14) before the tables and the memory are reused.
    dsb_ish();
    asm volatile("tlbi vmalls12e1is" ::: "memory");
    dsb_ish();
    isb();
    KEEL_WRITE_SYSREG(vttbr_el2, 0);
    isb();
    a.stage2.destroy();
    vm_stopped(vm, end);
}

void vm_request_stop(Vm& vm, VmEnd end) {
    VmArch& a = vm_arch(vm);
    u32 expected = 0;
    if (!__atomic_compare_exchange_n(&a.stopping, &expected, 1u, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return;
    a.end = end;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    for (u32 i = 0; i < a.nvcpus; ++i) {
        const Vcpu& t = a.vcpus[i];
        if (__atomic_load_n(&t.on, __ATOMIC_ACQUIRE) && t.core != this_cpu().index)
            gic_kick(t.core);
    }
}

void vcpu_reset(Vcpu& v, u64 entry, u64 arg) {
    v.ctx = VcpuContext{};
    v.el1 = El1Context{};
    v.ctx.x[0] = arg;
    v.ctx.pc = entry;
    v.ctx.pstate = kGuestEntryPstate;
    v.el1.sctlr_el1 = 0x30d00800; // RES1 bits only: MMU and caches off (D17.2.118)
    vgic_cpu_init(v.gic);
}

} // namespace keel::arm64

namespace keel::arch {

Status vm_create(Vm& vm) {
    using namespace arm64;
    VmArch& a = slot(vm.id);
    a.tables.attach(g_tables);
    KEEL_TRY(a.stage2.init());
    // Normal memory, RWX for the guest; nothing else is mapped, so every other IPA
    // (UART, GIC) faults to EL2 and is emulated or refused.
    Status s = a.stage2.map(vm.ram_ipa(), vm.mem_base, vm.mem_size, mm::Attrs{});
    a.nvcpus = 0;
    for (u32 c = 0; c < PerCpu::kMaxCpus && a.nvcpus < VmArch::kMaxVcpus; ++c) {
        if (!(vm.def.cpu_mask & (1ull << c))) continue;
        Vcpu& v = a.vcpus[a.nvcpus];
        v = Vcpu{};
        v.vm = &vm;
        v.index = a.nvcpus++;
        v.core = c;
    }
    if (a.nvcpus == 0 || vm.def.cpu_mask >> PerCpu::kMaxCpus) s = Status::OutOfRange;
    a.running = 0;
    a.stopping = 0;
    a.end = VmEnd::None;
    vgic_init(a.dist);
    vuart_init(a.uart, vm.def.input);
    Vcpu& v = a.vcpus[0];
    if (s == Status::Ok && vm.def.is_linux()) {
        u64 entry = 0, dtb = 0;
        s = linux_load(vm, a.nvcpus, &entry, &dtb);
        vcpu_reset(v, entry, dtb); // x0 = DTB, x1-x3 = 0 (booting.rst)
    } else if (s == Status::Ok) {
        const u64 guest_size = static_cast<u64>(keel_test_guest_end - keel_test_guest_start);
        s = guest_size > 1 * MiB
                ? Status::OutOfRange
                : copy_to_pool_block(vm.mem_base, 0, keel_test_guest_start, guest_size);
        // Test-guest boot registers: x0 VM id, x1 RAM base, x2 RAM size, x3 mode.
        vcpu_reset(v, vm.ram_ipa().raw(), vm.id);
        v.ctx.x[1] = vm.ram_ipa().raw();
        v.ctx.x[2] = vm.mem_size;
        v.ctx.x[3] = static_cast<u64>(vm.def.mode);
    }
    if (s != Status::Ok) {
        a.stage2.destroy();
        return s;
    }
    vm.stage2_tables = static_cast<u32>(a.tables.tables_in_use());
    // The hypervisor's own memory for this VM (docs/performance.md): its slots in the
    // static Vm and VmArch arrays plus the stage-2 table pages it took from the pool.
    using ull = unsigned long long;
    kprint("vm %u: hypervisor memory: %llu B state (Vm %llu + VmArch %llu) + %u stage-2 tables "
           "(%u KiB) = %llu B\n",
           vm.id, static_cast<ull>(sizeof(Vm) + sizeof(VmArch)), static_cast<ull>(sizeof(Vm)),
           static_cast<ull>(sizeof(VmArch)), vm.stage2_tables, vm.stage2_tables * 4,
           static_cast<ull>(sizeof(Vm) + sizeof(VmArch) + vm.stage2_tables * 4096ull));
    return Status::Ok;
}

Status vm_start(Vm& vm) {
    using namespace arm64;
    VmArch& a = vm_arch(vm);
    if (vm.first_cpu >= PerCpu::kMaxCpus || a.vcpus[0].core != vm.first_cpu)
        return Status::OutOfRange;
    __atomic_store_n(&a.running, 1u, __ATOMIC_RELEASE);
    __atomic_store_n(&a.vcpus[0].on, 1u, __ATOMIC_RELEASE);
    hand_vcpu(vm.first_cpu, a.vcpus[0]);
    return Status::Ok;
}

Status vm_reserve_sources(const VmDef& def) {
    if (!def.is_linux()) return Status::Ok;
    u64 kernel_bytes = 0;
    KEEL_TRY(arm64::linux_source_extent(def, &kernel_bytes));
    KEEL_TRY(pool_reserve_source(PhysAddr(def.kernel_pa), kernel_bytes));
    if (def.initrd_size) KEEL_TRY(pool_reserve_source(PhysAddr(def.initrd_pa), def.initrd_size));
    return Status::Ok;
}

usize vm_console_input(Vm& vm, const char* data, usize len) {
    return arm64::vuart_push_rx(vm, data, len);
}

} // namespace keel::arch
