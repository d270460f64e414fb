// The mailbox's view of the VM state machine: the one table in hypervisor/vm/lifecycle.hpp,
// which the VM manager also enforces (docs/vm-lifecycle.md). The service checks a
// command against it before it reaches the manager, so a refused command costs nothing.
#pragma once

#include "hypervisor/mailbox/abi.hpp"
#include "hypervisor/vm/lifecycle.hpp"

namespace keel::mailbox {

using keel::vm_transition;
using keel::VmEvent;
constexpr const char* vm_life_state_name(VmLifeState s) { return vm_state_name(s); }

} // namespace keel::mailbox
