// arm64 per-VM state, by value in a fixed pool indexed by VM id: the stage-2 tables
// (mm::PageTable over Stage2Format, table pages from a pool inside the image's .bss,
// counted per VM) and the VM's vCPUs.
#pragma once

#include "guest_map.hpp"
#include "hypervisor/mm/page_table.hpp"
#include "hypervisor/mm/table_pool.hpp"
#include "hypervisor/vm/vm.hpp"
#include "stage2_format.hpp"
#include "vcpu.hpp"
#include "vgic.hpp"
#include "vuart.hpp"

namespace keel::arm64 {

// Stage-2 table pages for every VM come from one fixed pool in the image (vm_arch.cpp).
using VmTableMemory = mm::PoolTables;

struct VmArch {
    static constexpr u32 kMaxVcpus = 8;
    VmTableMemory tables;
    mm::PageTable<Stage2Format> stage2{tables};
    Vcpu vcpus[kMaxVcpus];
    u32 nvcpus;   // one per core in the definition, ascending core order
    u32 running;  // atomic: vCPUs inside vcpu_run_until_stopped; the last one out tears down
    u32 stopping; // atomic: a VM-wide stop (SYSTEM_OFF/RESET, fault) was requested
    VmEnd end;    // why, set by the first vCPU that stops the VM
    VgicDist dist;
    VUart uart;
};

VmArch& vm_arch(const Vm& vm);
// Runs on the VM's last running core after its last exit: stage-2 gone, TLBs clean,
// memory freed.
void vm_teardown(Vm& vm, VmEnd end);
// Asks every vCPU of the VM to stop (VM-wide end); the first reason given wins.
void vm_request_stop(Vm& vm, VmEnd end);

} // namespace keel::arm64
