// The incoming image's line about the record it checked (report.hpp).
#include "hypervisor/update/report.hpp"

#include "hypervisor/print.hpp"

namespace keel::update {

void report_record_checked(const HandoverView& view) {
    u64 free = 0; // what the pool would have free after adopting the record's runs
    for (u32 i = 0; i < view.pool->count; ++i)
        if (view.pool_runs[i].owner == kOwnerFree) free += view.pool_runs[i].size;
    kprint("handover: record checked: abi %u, update %llu, %llu B, %u VMs, %u vCPUs, pool %u "
           "runs, %llu MiB free, outgoing Keel %s\n",
           view.header.abi_version, static_cast<unsigned long long>(view.header.update_counter),
           static_cast<unsigned long long>(view.header.length), view.vm_count,
           view.vcpu_count + view.x86_vcpu_count, view.pool->count,
           static_cast<unsigned long long>(free / MiB), view.old_image->version);
}

} // namespace keel::update
