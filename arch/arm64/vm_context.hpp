// arm64 per-VM state, embedded by value in every keel::Vm (<arch/vm.hpp>): the stage-2
// tables (mm::PageTable over Stage2Format, table pages from a pool inside the image's
// .bss, counted per VM), the VM's vCPUs and its emulated devices.
#pragma once

#include "hypervisor/mm/page_table.hpp"
#include "hypervisor/mm/table_pool.hpp"
#include "hypervisor/spinlock.hpp"
#include "hypervisor/vm/vm_types.hpp"
#include "ram_blocks.hpp"
#include "stage2_format.hpp"
#include "vcpu.hpp"
#include "vgic.hpp"
#include "vgpio.hpp"
#include "vuart.hpp"

namespace keel::arm64 {

// Stage-2 table pages for every VM come from one fixed pool in the image (vm_arch.cpp).
using VmTableMemory = mm::PoolTables;

struct VmContext {
    static constexpr u32 kMaxVcpus = 8;
    VmTableMemory tables;
    mm::PageTable<Stage2Format> stage2{tables};
    SpinLock stage2_lock; // stage-2 changes after vm_create: a block mapped on first use
    RamBlocks ram;        // which RAM blocks are zeroed and mapped (vm_arch.cpp)
    Vcpu vcpus[kMaxVcpus];
    u32 nvcpus;   // one per core in the definition, ascending core order
    u32 running;  // atomic: vCPUs inside vcpu_run_until_stopped; the last one out reports the end
    u32 stopping; // atomic: a VM-wide stop (SYSTEM_OFF/RESET, fault, controller) was requested
    VmEnd end;    // why, set by the first vCPU that stops the VM
    VgicDist dist;
    VUart uart;
    VGpio gpio; // PL061 with the power button on line 3
};

} // namespace keel::arm64
