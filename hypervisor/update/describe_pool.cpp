// Vm and PoolRuns records for the handover record (describe_pool.hpp).
#include "hypervisor/update/describe_pool.hpp"

#include <string.h>

#include "hypervisor/vm/partitions.hpp"
#include "hypervisor/vm/vm.hpp"
#include "hypervisor/vm/vm_manager.hpp"

namespace keel::update {
namespace {
// Free pool runs a record lists at most (a pool fragmented further refuses the update).
constexpr u32 kMaxFreeRuns = 64;
} // namespace

Status describe_vm_record(HandoverWriter& w, const Vm& vm, u32 vcpus) {
    VmRecord r{};
    r.id = vm.id;
    r.state = static_cast<u32>(vm.state);
    r.cpu_mask = vm.cpu_mask;
    r.mem_base = vm.mem_base.raw();
    r.mem_size = vm.mem_size;
    r.first_cpu = vm.first_cpu;
    r.vcpu_count = vcpus;
    memcpy(r.name, vm.label, sizeof r.name - 1); // NUL-terminated: r is zeroed
    return w.add(RecordType::Vm, r);
}

Status describe_pool(HandoverWriter& w, u64 image_base, u64 image_span, u64 region_base,
                     u64 region_size, u64 outgoing_base, u64 outgoing_span) {
    static PoolRun runs[3 + Vm::kMaxVms + kMaxFreeRuns]; // off the stack
    u32 n = 0;
    const bool in_region = region_base != 0 && image_base >= region_base &&
                           image_base + image_span <= region_base + region_size;
    if (!in_region) runs[n++] = PoolRun{image_base, image_span, kOwnerHypervisor, 0};
    if (region_base != 0) runs[n++] = PoolRun{region_base, region_size, kOwnerHypervisor, 0};
    if (outgoing_base != 0) runs[n++] = PoolRun{outgoing_base, outgoing_span, kOwnerHypervisor, 0};
    for (u32 id = 1; id <= Vm::kMaxVms; ++id) {
        const Vm* vm = vm_manager().find(id);
        if (vm != nullptr && vm->mem_size != 0)
            runs[n++] = PoolRun{vm->mem_base.raw(), vm->mem_size, id, 0};
    }
    static u64 bases[kMaxFreeRuns], sizes[kMaxFreeRuns];
    const u32 free = pool_free_runs(bases, sizes, kMaxFreeRuns);
    if (free > kMaxFreeRuns) return Status::NoMemory; // the record would be incomplete
    for (u32 i = 0; i < free; ++i)
        runs[n++] = PoolRun{bases[i], sizes[i], kOwnerFree, 0};
    return w.add_pool(runs, n);
}

} // namespace keel::update
