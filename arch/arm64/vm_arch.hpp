// arm64 VM internals shared by the vCPU, vGIC, vUART and vPSCI code.
#pragma once

#include "guest_map.hpp"
#include "hypervisor/vm/vm.hpp"
#include "vm_context.hpp"

namespace keel::arm64 {

// Runs on the VM's last running core after its last exit: this core's stage-2 context
// dropped, then the end reported to the VM manager (Vm::report_end).
void vm_last_vcpu_left(Vm& vm, VmEnd end);
// Asks every vCPU of the VM to stop (VM-wide end); the first reason given wins.
void vm_request_stop(Vm& vm, VmEnd end);
// Makes the RAM block holding `ipa` usable by the guest: zeroed through the pool, then
// mapped at stage 2, once, whichever vCPU (or the loader) comes first; a vCPU that meets
// a block another is preparing waits for it. OutOfRange if `ipa` is not the VM's RAM;
// an error from zeroing or mapping leaves the block unmapped (the VM must stop then).
Status ram_block_ready(Vm& vm, u64 ipa);
// The pool every VM's stage-2 table pages come from (inside the image).
mm::TablePool& vm_table_pool();
// The stage-2 table region (live_update.cpp reserves it with the update region; an incoming
// image adopts it from the record): the pool moves onto it while no table is in use.
constexpr u64 kTableRegionBytes = 2 * MiB;
[[nodiscard]] Status vm_tables_use_region(u64 base, u64 size);
[[nodiscard]] u64 vm_tables_region(); // 0: the image's own pages

} // namespace keel::arm64
