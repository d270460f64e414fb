// PSCI calls from EL2 to the firmware (Arm DEN 0022, SMC Calling Convention DEN 0028).
// The conduit (SMC or HVC) comes from the device tree's psci node.
#pragma once

#include "hypervisor/platform.hpp"
#include "hypervisor/types.hpp"

namespace keel::arm64 {

constexpr u32 kPsciVersion = 0x84000000;
constexpr u32 kPsciSystemOff = 0x84000008;
constexpr u32 kPsciCpuOn64 = 0xC4000003;

void psci_set_conduit(PsciConduit conduit);
u64 psci_call(u64 fn, u64 a1 = 0, u64 a2 = 0, u64 a3 = 0);
void psci_system_off();

} // namespace keel::arm64
