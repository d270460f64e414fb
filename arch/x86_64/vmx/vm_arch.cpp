// arch_vm.hpp's VM half for x86_64: the partition pool scrubber, EPT table pages, and
// vm_create/vm_start. Guest RAM is only ever touched through transient mappings.
//
//   vm_create (boot core): EPT maps GPA Vm::kRamIpa -> the VM's pool memory (2 MiB pages,
//     WB, RWX; with several vCPUs also GPA [0, 2 MiB) -> its first 2 MiB, for SIPI
//     vectors; nothing else, so every other GPA exits); the test guest is copied to
//     the start of RAM and 4 guest page-table pages to its top (64-bit entry).
//   vm_start: hands the VM to each of its cores (smp.cpp's work loop), one vCPU each.
#include <string.h>

#include "../paging.hpp"
#include "../percpu.hpp"
#include "guest_mem.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/spinlock.hpp"
#include "hypervisor/vm/arch_vm.hpp"
#include "vcpu.hpp"

extern "C" const char keel_x86_guest_start[], keel_x86_guest_end[];

namespace keel::x86 {
void hand_vm(u32 core, Vm& vm); // smp.cpp
}

namespace keel::vmx {
namespace {

// A VM with 2 MiB-aligned RAM below 512 GiB needs 3 EPT tables; 32 serve every VM.
mm::TableStorage<32> g_table_pages;
constinit mm::TablePool g_tables{g_table_pages};

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

} // namespace

VmSlot& vm_slot(const Vm& vm) {
    static VmSlot slots[Vm::kMaxVms]; // function-local: no init_array walk in the image
    return slots[vm.id - 1];
}

} // namespace keel::vmx

namespace keel::arch {

mm::Scrubber& pool_scrubber() {
    static vmx::TransientScrubber s;
    return s;
}

Status vm_create(Vm& vm) {
    using namespace vmx;
    VmSlot& slot = vm_slot(vm);
    const u64 guest_size = static_cast<u64>(keel_x86_guest_end - keel_x86_guest_start);
    const u32 vcpus = static_cast<u32>(__builtin_popcountll(vm.def.cpu_mask));
    if (guest_size + 5 * 4096 > vm.mem_size) return Status::OutOfRange;
    if (vcpus > kMaxVcpus) {
        kprint("vm %u: %u cores, at most %u vCPUs per VM on x86\n", vm.id, vcpus, kMaxVcpus);
        return Status::Unsupported;
    }
    slot.tables.attach(g_tables);
    KEEL_TRY(slot.ept.init());
    Status s = slot.ept.map(vm.ram_ipa(), vm.mem_base, vm.mem_size, mm::Attrs{});
    if (s == Status::Ok && vcpus > 1)
        s = slot.ept.map(GuestPhys(0), vm.mem_base, kLowAliasSize, mm::Attrs{});
    if (s == Status::Ok) s = guest_write(vm, vm.ram_ipa().raw(), keel_x86_guest_start, guest_size);
    if (s == Status::Ok) s = write_guest_page_tables(vm, &slot.guest_cr3);
    if (s != Status::Ok) {
        slot.ept.destroy();
        return s;
    }
    // EPTP (SDM Vol. 3C 25.6.11): WB (6), page-walk length - 1 = 3, A/D flags off.
    slot.eptp = slot.ept.root().raw() | (3u << 3) | 6u;
    vm.stage2_tables = static_cast<u32>(slot.tables.tables_in_use());
    memset(slot.vcpu, 0, sizeof slot.vcpu);
    memset(slot.scratch, 0, sizeof slot.scratch);
    for (u32 i = 0; i < kMaxVcpus; ++i)
        slot.vcpu[i].index = i;
    slot.vcpu[0].run = static_cast<u32>(VcpuRun::Running);
    slot.vcpus = slot.cores_active = vcpus;
    slot.live = 1;
    slot.stop = slot.faulted = 0;
    return Status::Ok;
}

// x86 VMs run the in-tree test guest only: a definition naming a Linux kernel is refused.
Status vm_reserve_sources(const VmDef& def) {
    return def.is_linux() ? Status::Unsupported : Status::Ok;
}
// No console input on x86 yet (the emulated 16550 has no receive side).
usize vm_console_input(Vm&, const char*, usize) { return 0; }

// No bench mode on x86 yet: the boot core never runs a vCPU (Bochs measures with 2 CPUs).
bool boot_core_runs_vcpus() { return false; }
void run_local_work() {}

// Every core of the VM gets it: vCPU 0 runs at once, the others wait for their SIPI.
Status vm_start(Vm& vm) {
    for (u32 c = 0; c < x86::kMaxCpus; ++c)
        if ((vm.def.cpu_mask >> c & 1) && !x86::cpu(c).vmx_on) return Status::BadState;
    if (vm.def.cpu_mask >> x86::kMaxCpus) return Status::BadState;
    for (u32 c = 0; c < x86::kMaxCpus; ++c)
        if (vm.def.cpu_mask >> c & 1) x86::hand_vm(c, vm);
    return Status::Ok;
}

} // namespace keel::arch
