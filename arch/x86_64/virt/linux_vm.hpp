// A Linux VM's start on x86 (Documentation/arch/x86/boot.rst, 64-bit boot protocol): the
// VM's RAM moves to guest-physical 0, the protected-mode kernel to its load address, and
// the zero page, command line, ACPI tables, GDT and identity page tables go below 1 MiB
// (linux_boot.hpp's plan); vCPU 0 enters at the 64-bit entry with RSI = the zero page.
#pragma once

#include "hypervisor/status.hpp"

namespace keel {
struct Vm;
}

namespace keel::virt {

// Refuses (with the reason on the console, nothing changed) a bzImage whose header is
// corrupt, whose protocol is older than 2.12, that does not fit the VM's memory, or
// whose initrd overlaps it; else sets the VM up as above (VmContext::boot).
[[nodiscard]] Status prepare_linux(Vm& vm);
// vm_arch.cpp: rebuilds the (unused) second stage with RAM at GPA 0, no low alias.
[[nodiscard]] Status move_ram_to_zero(Vm& vm);

} // namespace keel::virt
