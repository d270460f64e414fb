// Intel VT-x for x86_64: VMX operation (VMXON) and a first test VM with EPT, run on the
// boot CPU under keel.test=vmx (see README.md). SDM Vol. 3C chapters 24-31.
#pragma once

#include "hypervisor/boot_info.hpp"
#include "hypervisor/platform.hpp"
#include "hypervisor/status.hpp"

namespace keel::x86 {
// The boot info the x86 entry path filled (boot.cpp); the VMX test reads its cmdline.
const BootInfo& boot_info();
} // namespace keel::x86

namespace keel::vmx {

enum class TestMode {
    Guest,      // run the test guest to its HLT
    BadControl, // VM entries that must fail cleanly: invalid control, invalid guest state
};

// Checks CPUID, IA32_FEATURE_CONTROL and the CR0/CR4 fixed bits, then VMXON
// (SDM Vol. 3C 24.7, 24.8) on this CPU, with the VMXON region of CPU slot `slot`.
// Fails with a printed reason; prints success only when `report`.
Status enable(u32 slot = 0, bool report = true);
// Builds the VM (VMCS, EPT, guest RAM from `platform`'s usable memory) and runs it.
Status run_test_vm(const Platform& platform, TestMode mode);

} // namespace keel::vmx
