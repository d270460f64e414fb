// Guest-facing SMCCC / PSCI (Arm DEN 0028 SMC Calling Convention; DEN 0022 PSCI 1.1):
// what a VM's HVC or (trapped) SMC reaches.
#pragma once

#include "hypervisor/vm/vm.hpp"
#include "vcpu.hpp"

namespace keel::arm64 {

// What the vCPU loop does after an exit: re-enter, stop the whole VM, or stop only
// this vCPU (PSCI CPU_OFF).
enum class Next { Resume, Stop, Off };

Next guest_smccc(Vcpu& v, VmEnd* end);

} // namespace keel::arm64
