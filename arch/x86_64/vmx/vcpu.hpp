// The VMX backend sees the shared x86 VM state (virt/vm_context.hpp) under its own names.
#pragma once

#include "../virt/vm_context.hpp"
#include "vm_state.hpp"

namespace keel::vmx {
using namespace keel::virt;
} // namespace keel::vmx
