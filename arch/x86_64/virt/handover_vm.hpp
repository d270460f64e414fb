// An x86 VM's records in a live update's handover record (handover_vm.cpp).
#pragma once

#include "hypervisor/update/handover.hpp"

namespace keel {
struct Vm;
}

namespace keel::virt {

// Vm, Stage2, X86Devices and one VcpuX86 per vCPU, while every running vCPU is parked.
// Unsupported when the backend cannot describe a vCPU from the boot core (VMX).
[[nodiscard]] Status describe_vm(const Vm& vm, update::HandoverWriter& w);

} // namespace keel::virt
