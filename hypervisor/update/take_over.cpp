// The pool and the VMs of take_over.hpp (the trees are a template there).
#include "hypervisor/update/take_over.hpp"

#include "hypervisor/vm/partitions.hpp"
#include "hypervisor/vm/vm.hpp"
#include "hypervisor/vm/vm_manager.hpp"

namespace keel::update {

bool take_pool(const HandoverView& v, u64 base, u64 span) {
    PoolAdoption a;
    const char* why = "";
    const Status s = pool_adopt(v, mm::Span{base, span}, a, &why);
    if (s != Status::Ok) {
        kprint("handover: pool NOT adopted: %s (%s)\n", why, status_name(s));
        return false;
    }
    kprint("handover: pool adopted from the record: %u runs in %u regions, %llu MiB free, %llu "
           "MiB of VM RAM, %llu MiB hypervisor (this image inside it)\n",
           a.runs, a.regions, static_cast<unsigned long long>(a.free_bytes / MiB),
           static_cast<unsigned long long>(a.vm_bytes / MiB),
           static_cast<unsigned long long>(a.hypervisor_bytes / MiB));
    return true;
}

const Vm* take_vm(const HandoverView& v, u32 i, bool arch, bool* all) {
    using ull = unsigned long long;
    const VmRecord& r = *v.vms[i];
    Status s = vm_manager().adopt(r);
    const Vm* vm = vm_manager().find(r.id);
    if (s != Status::Ok || vm == nullptr) {
        kprint("handover: vm %u NOT adopted: %s\n", r.id, status_name(s));
        *all = false;
        return nullptr;
    }
    kprint("handover: vm %u adopted: %s, cores %#llx, %llu MiB at %#llx, vCPU 0 on cpu %u\n", r.id,
           vm_state_name(vm->state), static_cast<ull>(vm->cpu_mask),
           static_cast<ull>(vm->mem_size / MiB), static_cast<ull>(vm->mem_base.raw()),
           vm->first_cpu);
    if (!arch) {
        *all = false;
        return nullptr;
    }
    s = vm_manager().adopt_arch(r.id, v);
    if (s != Status::Ok) {
        kprint("handover: vm %u arch state NOT adopted: %s\n", r.id, status_name(s));
        *all = false;
        return nullptr;
    }
    return vm;
}

u64 release_outgoing_memory(const OldImageRecord& old, u64 tail_size, const KeptSpan* keep, u32 n) {
    auto kept = [&](u64 b, u64 e) {
        for (u32 i = 0; i < n; ++i)
            if (b < keep[i].end && keep[i].base < e) return true;
        return false;
    };
    constexpr u64 kBlock = 2 * MiB;
    u64 freed = 0;
    for (u64 b = align_down(old.base, kBlock); b < align_up(old.base + old.span, kBlock);
         b += kBlock)
        if (!kept(b, b + kBlock) && pool_release_hypervisor(PhysAddr(b), kBlock) == Status::Ok)
            freed += kBlock;
    const u64 tail = old.update_region;
    if (!kept(tail, tail + tail_size) &&
        pool_release_hypervisor(PhysAddr(tail), tail_size) == Status::Ok)
        freed += tail_size;
    return freed;
}

} // namespace keel::update
