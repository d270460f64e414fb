// x86_64 VMs for the VM manager (arch/vm_interface.hpp): the partition pool scrubber, EPT
// table pages, loading, the raw-guest boot state, start, stop and teardown. Guest RAM is
// only ever touched through transient mappings.
//
//   vm_create: the second stage (EPT under VMX, NPT under SVM) maps GPA kRawRamBase ->
//     the VM's pool memory (2 MiB pages, WB, RWX; with several vCPUs also GPA [0, 2 MiB)
//     -> its first 2 MiB, for SIPI vectors; nothing else, so every other GPA exits).
//   vm_prepare: a raw guest (loaded at the start of RAM) gets 4 guest page-table pages at
//     the top of its RAM (64-bit entry); a Linux VM's RAM moves to GPA 0 and the bzImage
//     is set up by the 64-bit boot protocol (linux_vm.cpp).
//   vm_start: hands the VM to each of its cores (smp.cpp's work loop), one vCPU each.
#include <string.h>

#include "../apic.hpp"
#include "../paging.hpp"
#include "../percpu.hpp"
#include "../tsc.hpp"
#include "backend.hpp"
#include "exit_policy.hpp"
#include "guest_mem.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/spinlock.hpp"
#include "hypervisor/vm/vm.hpp"
#include "linux_vm.hpp"
#include "quiesce.hpp"
#include "vm_context.hpp"
#include "vm_tables.hpp"
#include <arch/sections.hpp>
#include <arch/smp.hpp>

namespace keel::x86 {
void hand_vm(u32 core, Vm& vm); // smp.cpp
}

namespace keel::virt {
namespace {

// A VM with 2 MiB-aligned RAM below 512 GiB needs 3 EPT or NPT tables, 2 more with
// assigned VFs (their BARs in 4 KiB pages at GiB 3); 48 serve every VM. Under the mailbox
// the pool moves to a region of its own before any VM exists (vm_tables.hpp).
KEEL_NOINIT mm::TableStorage<48> g_table_pages; // TablePool zeroes each page it hands out
constinit mm::TablePool g_tables{g_table_pages};
mm::TableRegion<kTableRegionBytes / mm::kPageSize> g_region;

// Zeroes pool memory through a transient mapping, 2 MiB at a time.
class TransientScrubber final : public mm::Scrubber {
public:
    void zero(PhysAddr base, u64 size) override {
        for (u64 off = 0; off < size; off += 2 * MiB) {
            const u64 pa = base.raw() + off, n = size - off < 2 * MiB ? size - off : 2 * MiB;
            if (x86::map_phys(pa, n, x86::MapKind::ReadWrite) != Status::Ok) {
                kprint("KEEL PANIC: pool scrub: cannot map %#llx\n",
                       static_cast<unsigned long long>(pa));
                for (;;)
                    asm volatile("cli; hlt");
            }
            memset(reinterpret_cast<void*>(pa), 0, n);
            (void)x86::unmap_phys(pa, n);
        }
    }
};

// Guest page tables (64-bit entry), at the top of RAM: PML4, PDPT, and two page
// directories of 2 MiB pages identity-mapping GiB 1 (RAM at 0x40000000 and the
// addresses beyond it) and GiB 3 (MMIO, uncached: PCD|PWT).
Status write_guest_page_tables(const Vm& vm, u64* cr3) {
    constexpr u64 kP = 1, kRw = 2, kPwt = 8, kPcd = 16, kPs = 128;
    const u64 top = vm.ram_ipa().raw() + vm.mem_size;
    const u64 pml4 = top - 4 * 4096, pdpt = top - 3 * 4096, pd1 = top - 2 * 4096, pd3 = top - 4096;
    static u64 page[512]; // boot core only (vm_create)
    memset(page, 0, sizeof page);
    page[0] = pdpt | kP | kRw;
    KEEL_TRY(guest_write(vm, pml4, page, sizeof page));
    memset(page, 0, sizeof page);
    page[1] = pd1 | kP | kRw;
    page[3] = pd3 | kP | kRw;
    KEEL_TRY(guest_write(vm, pdpt, page, sizeof page));
    for (u64 i = 0; i < 512; ++i)
        page[i] = ((1ull << 30) + i * 2 * MiB) | kP | kRw | kPs;
    KEEL_TRY(guest_write(vm, pd1, page, sizeof page));
    for (u64 i = 0; i < 512; ++i)
        page[i] = ((3ull << 30) + i * 2 * MiB) | kP | kRw | kPs | kPcd | kPwt;
    KEEL_TRY(guest_write(vm, pd3, page, sizeof page));
    *cr3 = pml4;
    return Status::Ok;
}

// RAM at ram_base, and the low alias if asked for; on failure nothing remains.
template <typename Table>
Status build_second_stage(const Vm& vm, Table& t) {
    KEEL_TRY(t.init());
    Status s = t.map(vm.ram_ipa(), vm.mem_base, vm.mem_size, mm::Attrs{});
    if (s == Status::Ok && vm.arch.low_alias)
        s = t.map(GuestPhys(0), vm.mem_base, kLowAliasSize, mm::Attrs{});
    if (s != Status::Ok) t.destroy();
    return s;
}

template <typename Table>
void destroy_second_stage(const Vm& vm, Table& t) {
    (void)t.unmap(vm.ram_ipa(), vm.mem_size);
    if (vm.arch.low_alias) (void)t.unmap(GuestPhys(0), kLowAliasSize);
    t.destroy();
}

// `f` on the VM's second stage, the NPT under SVM or the EPT under VMX.
template <typename F>
auto on_stage2(VmContext& c, F f) {
    return backend() == Backend::Svm ? f(c.npt) : f(c.ept);
}

Status build_stage2(Vm& vm) {
    VmContext& slot = vm.arch;
    const Status s = on_stage2(slot, [&](auto& t) { return build_second_stage(vm, t); });
    if (s != Status::Ok) return s;
    // VMX: the EPTP (SDM Vol. 3C 25.6.11): WB (6), page-walk length - 1 = 3, A/D flags off.
    // SVM: the nested CR3 (APM Vol. 2 15.25.4): the NPT's PML4, write-back (PWT = PCD = 0).
    slot.stage2 =
        backend() == Backend::Svm ? slot.npt.root().raw() : slot.ept.root().raw() | (3u << 3) | 6u;
    vm.stage2_tables = static_cast<u32>(slot.tables.tables_in_use());
    return Status::Ok;
}

void destroy_stage2(Vm& vm) {
    on_stage2(vm.arch, [&](auto& t) { destroy_second_stage(vm, t); });
}

} // namespace

Status vm_tables_use_region(u64 base, u64 size) { return g_region.use(g_tables, base, size); }

u64 vm_tables_region() { return g_region.base(); }

mm::TablePool& vm_table_pool() { return g_tables; }

bool enter_guest(VmContext& s, Vcpu& v) {
    park_if_requested(); // a live update's quiesce (quiesce.hpp): parked here, state whole
    __atomic_store_n(&v.in_guest, 1u, __ATOMIC_SEQ_CST); // before the generation is read
    const u32 gen = __atomic_load_n(&s.stage2_gen, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&v.stage2_seen, __ATOMIC_RELAXED) == gen) return false;
    __atomic_store_n(&v.stage2_seen, gen, __ATOMIC_RELEASE);
    return true;
}

void left_guest(Vcpu& v) { __atomic_store_n(&v.in_guest, 0u, __ATOMIC_RELEASE); }

// No vCPU has run yet: the old tables are dropped whole and new ones built.
Status move_ram_to_zero(Vm& vm) {
    destroy_stage2(vm);
    vm.arch.ram_base = 0;
    vm.arch.low_alias = false;
    return build_stage2(vm);
}

} // namespace keel::virt

namespace keel::arch {

mm::Scrubber& pool_scrubber() {
    static virt::TransientScrubber s;
    return s;
}

// The pool zeroes a VM's RAM at allocation (the EPT maps it all at once).
bool vm_zeroes_ram_on_first_use() { return false; }

Status vm_create(Vm& vm) {
    using namespace virt;
    VmContext& slot = vm.arch;
    const u32 vcpus = static_cast<u32>(__builtin_popcountll(vm.cpu_mask));
    if (vcpus > kMaxVcpus) {
        kprint("vm %u: %u cores, at most %u vCPUs per VM on x86\n", vm.id, vcpus, kMaxVcpus);
        return Status::Unsupported;
    }
    if (vm.cpu_mask >> x86::kMaxCpus) return Status::OutOfRange;
    slot.tables.attach(g_tables);
    slot.ram_base = kRawRamBase;
    slot.low_alias = vcpus > 1;
    KEEL_TRY(build_stage2(vm));
    memset(slot.vcpu, 0, sizeof slot.vcpu);
    memset(slot.scratch, 0, sizeof slot.scratch);
    for (u32 i = 0; i < kMaxVcpus; ++i)
        slot.vcpu[i].index = i, vcpu_apic_reset(slot.vcpu[i]);
    slot.vcpu[0].run = static_cast<u32>(VcpuRun::Running);
    slot.vcpus = slot.cores_active = vcpus;
    slot.live = 1;
    slot.stop = slot.faulted = slot.forced = slot.reset = slot.stage2_gen = 0;
    return Status::Ok;
}

Status vm_write(Vm& vm, u64 offset, const void* src, u64 len) {
    if (offset > vm.mem_size || len > vm.mem_size - offset) return Status::OutOfRange;
    return virt::guest_write(vm, vm.ram_ipa().raw() + offset, src, len);
}

Status read_host(PhysAddr src, void* out, u64 len) {
    KEEL_TRY(x86::map_phys(src.raw(), len, x86::MapKind::ReadOnly));
    memcpy(out, reinterpret_cast<const void*>(src.raw()), len);
    return x86::unmap_phys(src.raw(), len);
}

Status vm_copy_host(Vm& vm, u64 offset, PhysAddr src, u64 len) {
    static u8 bounce[4096]; // boot core only (under the manager's lock)
    for (u64 done = 0; done < len;) {
        const u64 n = len - done < sizeof bounce ? len - done : sizeof bounce;
        KEEL_TRY(read_host(src + done, bounce, n));
        KEEL_TRY(vm_write(vm, offset + done, bounce, n));
        done += n;
    }
    return Status::Ok;
}

Status vm_prepare(Vm& vm) {
    virt::devices_reset(vm);
    if (vm.image.kind == GuestKind::Linux) return virt::prepare_linux(vm);
    // The raw guest's image sits at the start of RAM; its page tables take the top 4 pages.
    if (vm.image.kernel_bytes + 5 * 4096 > vm.mem_size) return Status::OutOfRange;
    virt::BootState& b = vm.arch.boot;
    KEEL_TRY(virt::write_guest_page_tables(vm, &b.cr3));
    // Test-guest boot registers (SysV argument order): VM id, RAM base, RAM size, mode; no
    // GDT (the guest loads its own), selectors 0x08 and 0x10 as its GDT will have them.
    const u64 base = vm.ram_ipa().raw();
    b.rip = base;
    b.rsp = base + vm.mem_size - 4 * 4096;
    b.rdi = vm.id, b.rsi = base, b.rdx = vm.mem_size, b.rcx = static_cast<u64>(vm.image.raw_mode);
    b.gdt_base = 0, b.gdt_limit = 0xffff, b.cs = 0x08, b.ds = 0x10;
    return Status::Ok;
}

void vm_request_stop(Vm& vm, VmEnd) {
    // Each vCPU sees the flag at its next exit (HLT wake-up, preemption timer, any trap).
    __atomic_store_n(&vm.arch.forced, 1u, __ATOMIC_RELEASE);
    __atomic_store_n(&vm.arch.stop, 1u, __ATOMIC_RELEASE);
}

void vm_destroy(Vm& vm) { virt::destroy_stage2(vm); }

// No power button: the guest's ACPI is hardware-reduced without a power button device.
Status vm_power_button(Vm&) { return Status::Unsupported; }

// Assigned VFs (docs/sriov.md, x86). A device DMAs with IOVA = guest-physical address; a
// Linux VM's RAM moves to GPA 0 at start (vm_prepare), and the VM manager then has the
// devices follow it (VmDevices::vm_moved).
Status vm_ram_for_dma(Vm&) { return Status::Ok; } // the pool zeroed it all at allocation

// Invalid -> valid entries only (nothing to invalidate on any core); uncached (EPT memory
// type UC; NPT PCD), never executable. The guest's ECAM and whatever of the window this
// leaves unmapped trap (mmio.cpp).
Status vm_map_device(Vm& vm, GuestPhys ipa, PhysAddr pa, u64 size) {
    const u64 lo = kGuestPciWindow.raw();
    if (ipa.raw() < lo || size == 0 || size > kGuestPciWindowSize ||
        ipa.raw() - lo > kGuestPciWindowSize - size || (ipa.raw() | pa.raw() | size) % 4096 != 0)
        return Status::OutOfRange;
    if (vm.arch.ram_base + vm.mem_size > virt::kGuestEcamBase) return Status::OutOfRange;
    const mm::Attrs dev{true, true, false, true};
    virt::VmContext& c = vm.arch;
    const Status s = virt::on_stage2(
        c, [&](auto& t) { return t.map(ipa, pa, size, dev, mm::Leaves::PagesOnly); });
    vm.stage2_tables = static_cast<u32>(c.tables.tables_in_use());
    return s;
}

// The entries go, then the VM's running vCPUs drop what they cached (hot-plug removal):
// the generation is bumped, and each vCPU that is in the guest leaves it within its kick
// period (arm_kick: at most kKickPeriodMs) and flushes on its next entry (enter_guest); one
// that is outside the guest checks before it enters. Returns once every vCPU either has
// seen the new generation or is outside the guest, so nothing translates the range after.
void vm_unmap_device(Vm& vm, GuestPhys ipa, u64 size) {
    virt::VmContext& c = vm.arch;
    (void)virt::on_stage2(c, [&](auto& t) { return t.unmap(ipa, size); });
    const u32 gen = __atomic_add_fetch(&c.stage2_gen, 1u, __ATOMIC_SEQ_CST);
    const u64 hz = x86::tsc_hz(), t0 = __builtin_ia32_rdtsc();
    for (u32 i = 0; i < c.vcpus; ++i) {
        const virt::Vcpu& v = c.vcpu[i];
        while (__atomic_load_n(&v.in_guest, __ATOMIC_SEQ_CST) != 0 &&
               __atomic_load_n(&v.stage2_seen, __ATOMIC_ACQUIRE) != gen) {
            if (hz != 0 && __builtin_ia32_rdtsc() - t0 > hz) { // a second: the core is stuck
                kprint("vm %u: vcpu %u did not leave the guest within 1 s of an unmap: VM "
                       "stopped\n",
                       vm.id, i);
                vm_request_stop(vm, VmEnd::Fault);
                return;
            }
            asm volatile("pause");
        }
    }
}

usize vm_console_input(Vm& vm, const char* data, usize len) {
    return virt::console_push(vm, data, len);
}

// Bench mode (`keel.bench`): the boot core may run a vCPU itself, so a one-CPU machine
// can be measured (bench/x86_linux_boot.sh). Its VMX or SVM is turned on at the first ask;
// without it the boot core stays the hypervisor's alone.
bool boot_core_runs_vcpus() {
    x86::PerCpu& boot = x86::cpu(boot_cpu_index());
    if (!boot.virt_on && virt::backend() != virt::Backend::None) {
        x86::legacy_pic_mask_all(); // the guest's interrupts are virtual; none of the PIC's
        boot.virt_on = virt::enable_cpu(boot.slot, false) == Status::Ok;
    }
    return boot.virt_on;
}

// The boot core runs the vCPU handed to it until its VM ends, as an AP's work loop does.
void run_local_work() {
    x86::PerCpu& me = x86::this_cpu();
    Vm* vm = __atomic_load_n(&me.work, __ATOMIC_ACQUIRE);
    if (vm == nullptr) return;
    Vm& ran = *vm;
    const u32 index = virt::vcpu_index_on(ran.cpu_mask, me.index);
    virt::vcpu_run_until_stopped(ran);
    __atomic_compare_exchange_n(&me.work, &vm, nullptr, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    // The Vm slot and its Vcpu stay as they were until the slot's next VM: only the mark is read.
    kprint("vm %u: vcpu %u first entry at tsc %llu\n", ran.id, index,
           static_cast<unsigned long long>(ran.arch.vcpu[index].first_entry_tsc));
}

// Every core of the VM gets it: vCPU 0 runs at once, the others wait for their SIPI.
Status vm_start(Vm& vm) {
    for (u32 c = 0; c < x86::kMaxCpus; ++c)
        if ((vm.cpu_mask >> c & 1) && !x86::cpu(c).virt_on) return Status::BadState;
    for (u32 c = 0; c < x86::kMaxCpus; ++c)
        if (vm.cpu_mask >> c & 1) x86::hand_vm(c, vm);
    return Status::Ok;
}

} // namespace keel::arch
