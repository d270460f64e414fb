// x86_64: reports the boot CPU's virtualization features (VMX or SVM, CPUID and the
// VMX capability MSRs), checks the Zydis decoder, and triggers a deliberate #PF for
// the harness's exception test.
#pragma once

#include "hypervisor/platform.hpp"
#include "hypervisor/status.hpp"

namespace keel::arch {
Status report_features(const Platform& platform);
[[noreturn]] void trigger_test_fault();
} // namespace keel::arch
