// What an incoming image says on the console once the record checked (docs/handover.md §4
// step 3), the same line on every arch. Image only.
#pragma once

#include "hypervisor/update/handover.hpp"

namespace keel::update {

// "handover: record checked: abi A, update N, B B, V VMs, C vCPUs, pool R runs, F MiB free,
// outgoing Keel <version>".
void report_record_checked(const HandoverView& view);

} // namespace keel::update
