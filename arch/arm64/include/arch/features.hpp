// arm64: reports the virtualization features of the boot CPU (ID registers) and
// triggers a deliberate fault for the harness's exception test.
#pragma once

#include "hypervisor/platform.hpp"
#include "hypervisor/status.hpp"

namespace keel::arch {
Status report_features(const Platform& platform);
[[noreturn]] void trigger_test_fault();
} // namespace keel::arch
