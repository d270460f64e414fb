// Live update's arch half (reached through <arch/update.hpp>; docs/handover.md §4): the
// swap mechanics for the mailbox's UPDATE Apply. An arch without them yet gets
// arch/none/ (cmake/image.cmake), whose live_update() answers null.
#pragma once

#include "hypervisor/update/swap.hpp"

namespace keel::arch {

// The arch's swap, or null when it has none.
update::Swap* live_update();

} // namespace keel::arch
