// The run loop and exit handlers of the test VM (vm_exit.cpp).
#pragma once

#include "hypervisor/status.hpp"
#include "vm_state.hpp"

namespace keel::vmx {
// Runs the VM whose VMCS is current until it halts or fails; prints the exit counts.
Status run_guest(GuestRegs& regs, u32 vm_id);
} // namespace keel::vmx
