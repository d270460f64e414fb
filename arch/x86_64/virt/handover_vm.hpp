// An x86 VM's records in a live update's handover record (handover_vm.cpp).
#pragma once

#include "hypervisor/update/handover.hpp"

namespace keel {
struct Vm;
}

namespace keel::virt {

struct Vcpu;

// Vm, Stage2, X86Devices and one VcpuX86 per vCPU, while every running vCPU is parked.
// Unsupported when the backend cannot describe a vCPU from the boot core (VMX).
[[nodiscard]] Status describe_vm(const Vm& vm, update::HandoverWriter& w);
// One vCPU's record and the VM's devices record as describe_vm writes them (an adopting image
// describes what it took again and compares).
[[nodiscard]] Status vcpu_x86_record(const Vm& vm, const Vcpu& v, update::VcpuX86Record& r);
void devices_x86_record(const Vm& vm, update::X86DevicesRecord& d);

} // namespace keel::virt
