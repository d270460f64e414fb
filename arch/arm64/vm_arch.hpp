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

} // namespace keel::arm64
