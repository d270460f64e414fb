// Stage-2 tables and guest loading for arm64 VMs; vm_create/vm_start for the core.
#include "vm_arch.hpp"

#include <string.h>

#include "el2_regs.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/spinlock.hpp"
#include "hypervisor/vm/arch_vm.hpp"
#include "hypervisor/vm/vm_manager.hpp"
#include "percpu.hpp"
#include "scrubber.hpp"
#include "sysreg.hpp"

extern "C" const char keel_test_guest_start[], keel_test_guest_end[];

namespace keel::arm64 {
namespace {

// Stage-2 table pages for all VMs, inside the image (never the partition pool). A VM
// with block-aligned RAM needs 2 pages (level-1 root + one level-2 table).
constexpr u32 kTablePages = 64;
alignas(4096) u64 g_tables[kTablePages][512];
bool g_table_used[kTablePages];
SpinLock g_tables_lock;

VmArch& slot(u32 id) {
    // Function-local: runs its constructors on first use, on the boot core (no
    // init_array walk in the image).
    static VmArch slots[Vm::kMaxVms];
    return slots[id - 1];
}

} // namespace

u64* VmTableMemory::alloc_table(PhysAddr* phys) {
    LockGuard g(g_tables_lock);
    for (u32 i = 0; i < kTablePages; ++i) {
        if (g_table_used[i]) continue;
        g_table_used[i] = true;
        memset(g_tables[i], 0, sizeof g_tables[i]);
        ++in_use_;
        *phys = PhysAddr(reinterpret_cast<u64>(g_tables[i])); // identity-mapped image
        return g_tables[i];
    }
    return nullptr;
}

void VmTableMemory::free_table(PhysAddr phys) {
    LockGuard g(g_tables_lock);
    u64 i = (phys.raw() - reinterpret_cast<u64>(g_tables)) / sizeof g_tables[0];
    if (i < kTablePages && g_table_used[i]) {
        g_table_used[i] = false;
        --in_use_;
    }
}

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

} // namespace keel::arm64

namespace keel::arch {

Status vm_create(Vm& vm) {
    using namespace arm64;
    VmArch& a = slot(vm.id);
    const u64 guest_size = static_cast<u64>(keel_test_guest_end - keel_test_guest_start);
    if (guest_size > 1 * MiB) return Status::OutOfRange;
    KEEL_TRY(a.stage2.init());
    // Normal memory, RWX for the guest; nothing else is mapped, so every other IPA
    // (the UART included) faults to EL2.
    Status s = a.stage2.map(vm.ram_ipa(), vm.mem_base, vm.mem_size, mm::Attrs{});
    if (s == Status::Ok) s = copy_to_pool_block(vm.mem_base, 0, keel_test_guest_start, guest_size);
    if (s != Status::Ok) {
        a.stage2.destroy();
        return s;
    }
    vm.stage2_tables = static_cast<u32>(a.tables.tables_in_use());
    a.uart_len = 0;
    Vcpu& v = a.vcpus[0];
    v = Vcpu{};
    v.vm = &vm;
    v.index = 0;
    v.core = vm.first_cpu;
    // Test-guest boot registers: x0 VM id, x1 RAM base, x2 RAM size, x3 mode.
    v.ctx.x[0] = vm.id;
    v.ctx.x[1] = vm.ram_ipa().raw();
    v.ctx.x[2] = vm.mem_size;
    v.ctx.x[3] = static_cast<u64>(vm.def.mode);
    v.ctx.pc = vm.ram_ipa().raw();
    v.ctx.pstate = kGuestEntryPstate;
    v.el1.sctlr_el1 = 0x30d00800; // RES1 bits only: MMU and caches off (D17.2.118)
    return Status::Ok;
}

Status vm_start(Vm& vm) {
    using namespace arm64;
    VmArch& a = vm_arch(vm);
    if (vm.first_cpu >= PerCpu::kMaxCpus) return Status::OutOfRange;
    hand_vcpu(vm.first_cpu, a.vcpus[0]);
    return Status::Ok;
}

} // namespace keel::arch
