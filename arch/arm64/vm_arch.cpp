// arm64 VMs for the VM manager (arch/vm_interface.hpp): stage-2 tables, vCPUs, loading
// into guest RAM, boot state (Linux Image or raw guest), start, stop and teardown.
#include <arch/sections.hpp>
#include <arch/smp.hpp>
#include <arch/vm.hpp>

#include "el2_regs.hpp"
#include "gic_phys.hpp"
#include "hypervisor/print.hpp"
#include "linux_loader.hpp"
#include "percpu.hpp"
#include "scrubber.hpp"
#include "sysreg.hpp"
#include "vm_arch.hpp"

namespace keel::arm64 {
namespace {

// Stage-2 table pages for all VMs, inside the image (never the partition pool). A VM
// with block-aligned RAM needs 2 pages (level-1 root + one level-2 table).
KEEL_NOINIT mm::TableStorage<64> g_table_pages; // TablePool zeroes each page it hands out
constinit mm::TablePool g_tables{g_table_pages};

// Drops every stage-1+2 TLB entry of the VM's VMID on every core (TLBI VMALLS12E1IS
// acts on the VMID in this core's VTTBR_EL2, D8.14), with no tables behind it.
void flush_vmid(u16 vmid) {
    KEEL_WRITE_SYSREG(vttbr_el2, vttbr(0, vmid));
    isb();
    dsb_ish();
    asm volatile("tlbi vmalls12e1is" ::: "memory");
    dsb_ish();
    isb();
    KEEL_WRITE_SYSREG(vttbr_el2, 0);
    isb();
}

} // namespace

mm::TablePool& vm_table_pool() { return g_tables; }

namespace {
// Live update (docs/handover.md §2.2 OldImage): under the mailbox the stage-2 table pages
// come from a run of the partition pool reserved before any VM exists, not from the image,
// so they outlive it: the incoming image adopts the trees where they are and the outgoing
// image's span can be freed at the commit.
mm::TableRegion<kTableRegionBytes / mm::kPageSize> g_region;
} // namespace

Status vm_tables_use_region(u64 base, u64 size) { return g_region.use(g_tables, base, size); }

u64 vm_tables_region() { return g_region.base(); }

Status ram_block_ready(Vm& vm, u64 ipa) {
    VmContext& a = vm.arch;
    const u64 base = vm.ram_ipa().raw();
    if (ipa < base || ipa - base >= vm.mem_size) return Status::OutOfRange;
    const u32 block = static_cast<u32>((ipa - base) / RamBlocks::kBlock);
    switch (a.ram.claim(block)) {
    case RamBlocks::Claim::Ready: return Status::Ok;
    case RamBlocks::Claim::OutOfRange: return Status::OutOfRange;
    case RamBlocks::Claim::Busy:
        // Another core zeroes it (a few hundred thousand instructions): wait, unless the
        // VM is ending (that core's zeroing failed, or anything else stops the VM).
        while (!a.ram.ready(block)) {
            if (__atomic_load_n(&a.stopping, __ATOMIC_ACQUIRE)) return Status::BadState;
            asm volatile("yield");
        }
        return Status::Ok;
    case RamBlocks::Claim::Mine: break;
    }
    // Zeroed (and cleaned to the point of coherency) before it is mapped: the guest can
    // never read what the block held before. The block is the VM's (vm.mem_base is the
    // manager's allocation for it, and `block` is below mem_size).
    const PhysAddr pa = vm.mem_base + static_cast<u64>(block) * RamBlocks::kBlock;
    KEEL_TRY(zero_block_first_use(pa));
    Status s;
    {
        LockGuard g(a.stage2_lock);
        // Tables exist (vm_create): this writes one level-2 entry, invalid -> valid, which
        // needs no break-before-make and no TLB maintenance (no TLB holds an invalid entry).
        s = a.stage2.map(GuestPhys(base + static_cast<u64>(block) * RamBlocks::kBlock), pa,
                         RamBlocks::kBlock, mm::Attrs{});
    }
    if (s != Status::Ok) return s;
    dsb_ish(); // the entry is visible to every core's walker before anyone is told
    a.ram.publish(block);
    return Status::Ok;
}

void vm_last_vcpu_left(Vm& vm, VmEnd end) {
    vm.report_end(end);
    arch::send_event();
}

void vm_request_stop(Vm& vm, VmEnd end) {
    VmContext& a = vm.arch;
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
    v.ctx.stats = &v.vm->stats;
    v.el1 = El1Context{};
    v.ctx.x[0] = arg;
    v.ctx.pc = entry;
    v.ctx.pstate = kGuestEntryPstate;
    v.el1.sctlr_el1 = 0x30d00800; // RES1 bits only: MMU and caches off (D17.2.118)
    vgic_cpu_init(v.gic);
}

} // namespace keel::arm64

namespace keel::arch {

bool vm_zeroes_ram_on_first_use() { return true; }

Status vm_create(Vm& vm) {
    using namespace arm64;
    VmContext& a = vm.arch;
    if (vm.cpu_mask == 0 || vm.cpu_mask >> PerCpu::kMaxCpus ||
        __builtin_popcountll(vm.cpu_mask) > static_cast<int>(VmContext::kMaxVcpus))
        return Status::OutOfRange;
    if (vm.mem_size / RamBlocks::kBlock > RamBlocks::kMaxBlocks) return Status::OutOfRange;
    a.tables.attach(vm_table_pool());
    KEEL_TRY(a.stage2.init());
    // The RAM is mapped block by block as it is first used (ram_block_ready: the guest's
    // first stage-2 fault in a block, or the loader's first write), each block zeroed just
    // before; the pool handed it out unzeroed (vm_zeroes_ram_on_first_use). Here only the
    // level-2 tables are made, so that mapping a block later takes no table from the
    // shared pool. Normal memory, RWX for the guest; nothing else is ever mapped, so every
    // other IPA (UART, GIC) faults to EL2 and is emulated or refused.
    a.ram.reset(static_cast<u32>(vm.mem_size / RamBlocks::kBlock));
    const Status s = a.stage2.make_tables(vm.ram_ipa(), vm.mem_size, 2);
    if (s != Status::Ok) {
        a.stage2.destroy();
        return s;
    }
    a.nvcpus = 0;
    for (u32 c = 0; c < PerCpu::kMaxCpus; ++c) {
        if (!(vm.cpu_mask & (1ull << c))) continue;
        Vcpu& v = a.vcpus[a.nvcpus];
        v = Vcpu{};
        v.vm = &vm;
        v.index = a.nvcpus++;
        v.core = c;
    }
    a.running = 0;
    a.stopping = 0;
    a.end = VmEnd::None;
    vgic_init(a.dist);
    vuart_init(a.uart, nullptr);
    vgpio_init(a.gpio);
    vm.stage2_tables = static_cast<u32>(a.tables.tables_in_use());
    // The hypervisor's own memory for this VM (docs/performance.md): its Vm slot (the
    // arch context embedded) plus the stage-2 table pages it took from the pool.
    using ull = unsigned long long;
    kprint("vm %u: hypervisor memory: %llu B state (Vm %llu, of it VmContext %llu) + %u stage-2 "
           "tables (%u KiB) = %llu B\n",
           vm.id, static_cast<ull>(sizeof(Vm)), static_cast<ull>(sizeof(Vm)),
           static_cast<ull>(sizeof(VmContext)), vm.stage2_tables, vm.stage2_tables * 4,
           static_cast<ull>(sizeof(Vm) + vm.stage2_tables * 4096ull));
    return Status::Ok;
}

namespace {
// The blocks a load writes are zeroed and mapped first (the rest of each reads zero).
Status blocks_ready(Vm& vm, u64 offset, u64 len) {
    if (offset > vm.mem_size || len > vm.mem_size - offset) return Status::OutOfRange;
    if (len == 0) return Status::Ok;
    const u64 base = vm.ram_ipa().raw();
    for (u64 b = align_down(offset, arm64::RamBlocks::kBlock); b < offset + len;
         b += arm64::RamBlocks::kBlock)
        KEEL_TRY(arm64::ram_block_ready(vm, base + b));
    return Status::Ok;
}
} // namespace

Status vm_write(Vm& vm, u64 offset, const void* src, u64 len) {
    KEEL_TRY(blocks_ready(vm, offset, len));
    return arm64::copy_to_pool(vm.mem_base + offset, src, len);
}

Status vm_copy_host(Vm& vm, u64 offset, PhysAddr src, u64 len) {
    KEEL_TRY(blocks_ready(vm, offset, len));
    return arm64::copy_phys_to_pool(vm.mem_base + offset, src, len);
}

Status read_host(PhysAddr src, void* out, u64 len) { return arm64::read_phys(src, out, len); }

Status vm_start(Vm& vm) {
    using namespace arm64;
    VmContext& a = vm.arch;
    if (vm.first_cpu >= PerCpu::kMaxCpus || a.vcpus[0].core != vm.first_cpu)
        return Status::OutOfRange;
    __atomic_store_n(&a.running, 1u, __ATOMIC_RELEASE);
    __atomic_store_n(&a.vcpus[0].on, 1u, __ATOMIC_RELEASE);
    hand_vcpu(vm.first_cpu, a.vcpus[0]);
    return Status::Ok;
}

void vm_request_stop(Vm& vm, VmEnd why) { arm64::vm_request_stop(vm, why); }

void vm_destroy(Vm& vm) {
    arm64::VmContext& a = vm.arch;
    (void)a.stage2.unmap(vm.ram_ipa(), vm.mem_size);
    // No core runs the VM (each cleared its VTTBR_EL2 on the way out), but their TLBs
    // may still hold its translations: drop them everywhere before the memory moves on.
    arm64::flush_vmid(vm.id);
    a.stage2.destroy();
}

Status vm_ram_for_dma(Vm& vm) { return blocks_ready(vm, 0, vm.mem_size); }

Status vm_map_device(Vm& vm, GuestPhys ipa, PhysAddr pa, u64 size) {
    const u64 lo = kGuestPciWindow.raw();
    if (ipa.raw() < lo || size == 0 || size > kGuestPciWindowSize ||
        ipa.raw() - lo > kGuestPciWindowSize - size || (ipa.raw() | pa.raw() | size) % 4096 != 0)
        return Status::OutOfRange;
    arm64::VmContext& a = vm.arch;
    LockGuard g(a.stage2_lock);
    // Invalid -> valid entries: no break-before-make, no TLB maintenance. Stage 2 sets the
    // device type (Device-nGnRE wins over any stage-1 attribute the guest picks, D8.6.4).
    return a.stage2.map(ipa, pa, size, mm::Attrs{true, true, false, true});
}

void vm_unmap_device(Vm& vm, GuestPhys ipa, u64 size) {
    arm64::VmContext& a = vm.arch;
    {
        LockGuard g(a.stage2_lock);
        (void)a.stage2.unmap(ipa, size);
    }
    // Its vCPUs may run (hot-plug removal): the broadcast invalidation reaches their cores.
    arm64::flush_vmid(vm.id);
}

Status vm_power_button(Vm& vm) {
    arm64::vgpio_power_button(vm);
    return Status::Ok;
}

usize vm_console_input(Vm& vm, const char* data, usize len) {
    return arm64::vuart_push_rx(vm, data, len);
}

} // namespace keel::arch
