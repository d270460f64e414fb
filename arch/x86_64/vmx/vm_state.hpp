// The VMX world switch (entry.S) as C++ sees it; the GPRs are virt/guest_regs.hpp's.
#pragma once

#include "../virt/guest_regs.hpp"

namespace keel::vmx {

using virt::GuestRegs;
enum class RunResult : u32 { Exited = 0, FailInvalid = 1, FailValid = 2 };

} // namespace keel::vmx

extern "C" keel::u32 vmx_run(keel::virt::GuestRegs* regs, keel::u32 launched);
extern "C" char vmx_exit_entry[];
