// A live update's incoming image takes an arm64 VM over from the handover record
// (arch/vm_interface.hpp vm_adopt, docs/handover.md §4 step 4): its stage-2 tree adopted in
// place (its pages in the table region, claimed, not rebuilt; guest memory untouched), the RAM
// blocks that tree maps marked ready (zeroed by the old image, never again), each vCPU's
// context, EL1 registers, CPU interface and parked list registers, the distributor, the
// emulated UART and GPIO.
#include <arch/vm.hpp>

#include "handover_records.hpp"
#include "hypervisor/vm/vm.hpp"
#include "percpu.hpp"
#include "vm_arch.hpp"

namespace keel::arch {

Status vm_adopt(Vm& vm, const update::HandoverView& r) {
    using namespace arm64;
    u32 at = r.vm_count;
    for (u32 i = 0; i < r.vm_count; ++i)
        if (r.vms[i]->id == vm.id) at = i;
    if (at == r.vm_count) return Status::NotFound;
    // An x86 VM's records (ABI 7) are not this arch's: nothing of it is taken.
    if (r.vgic_dist[at] == nullptr || r.vm_devices[at] == nullptr) return Status::Unsupported;
    const update::VmRecord& rec = *r.vms[at];
    const update::Stage2Record& s2 = *r.stage2[at];
    if (rec.vcpu_count > VmContext::kMaxVcpus ||
        vm.mem_size / RamBlocks::kBlock > RamBlocks::kMaxBlocks)
        return Status::OutOfRange;
    // This image's guest memory map must be the recorded one (the guest's RAM IPA).
    if (s2.ipa_base != vm.ram_ipa().raw()) return Status::InvalidArgument;
    for (u32 i = 0; i < r.vcpu_count; ++i) {
        const update::VcpuRecord& v = *r.vcpus[i];
        if (v.vm_id == vm.id && (v.core >= PerCpu::kMaxCpus || (vm.cpu_mask >> v.core & 1) == 0))
            return Status::InvalidArgument; // a vCPU on a core the VM does not own
    }
    VmContext& a = vm.arch;
    a.tables.attach(vm_table_pool());
    KEEL_TRY(a.stage2.adopt(PhysAddr(s2.root)));
    // Its table pages become this image's, where they are (the table region the record
    // names and this image's pool now spans): each one exactly once.
    bool pages_ok = true;
    a.stage2.for_each_table([&](PhysAddr page) {
        const bool mine = vm_table_pool().adopt(page);
        if (mine) a.tables.count_adopted();
        pages_ok &= mine;
    });
    if (!pages_ok) return Status::Corrupt;
    const u32 blocks = static_cast<u32>(vm.mem_size / RamBlocks::kBlock);
    a.ram.reset(blocks);
    for (u32 b = 0; b < blocks; ++b) {
        const u64 off = static_cast<u64>(b) * RamBlocks::kBlock;
        const auto t = a.stage2.translate(GuestPhys(s2.ipa_base + off));
        if (!t.ok()) continue; // never touched: zeroed and mapped on first use, as before
        if (t.value().pa.raw() != vm.mem_base.raw() + off) return Status::Corrupt;
        (void)a.ram.claim(b);
        a.ram.publish(b);
    }
    a.nvcpus = rec.vcpu_count;
    a.running = 0;
    for (u32 i = 0; i < r.vcpu_count; ++i) {
        const update::VcpuRecord& v = *r.vcpus[i];
        if (v.vm_id != vm.id) continue;
        Vcpu& x = a.vcpus[v.index];
        x = Vcpu{};
        vcpu_from_record(x, v);
        x.vm = &vm;
        x.ctx.stats = &vm.stats;
        a.running += v.on != 0;
        // Where its core finds it if this image stays (smp.cpp arm64_adopted_secondary_main).
        if (v.on != 0) __atomic_store_n(&cpu(v.core).work, &x, __ATOMIC_RELEASE);
    }
    a.stopping = 0;
    a.end = VmEnd::None;
    dist_from_record(a.dist, *r.vgic_dist[at]);
    devices_from_record(a.uart, a.gpio, *r.vm_devices[at]);
    vm.stage2_tables = static_cast<u32>(a.tables.tables_in_use());
    return Status::Ok;
}

} // namespace keel::arch
