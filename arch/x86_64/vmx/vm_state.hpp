// What the world switch (entry.S) shares with C++: the guest GPRs.
#pragma once

#include <stddef.h>

#include "hypervisor/types.hpp"

namespace keel::vmx {

struct GuestRegs {
    u64 rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
};
// entry.S's R_* offsets.
static_assert(offsetof(GuestRegs, rax) == 0 && offsetof(GuestRegs, rbx) == 8);
static_assert(offsetof(GuestRegs, rcx) == 16 && offsetof(GuestRegs, rdx) == 24);
static_assert(offsetof(GuestRegs, rsi) == 32 && offsetof(GuestRegs, rdi) == 40);
static_assert(offsetof(GuestRegs, rbp) == 48 && offsetof(GuestRegs, r8) == 56);
static_assert(offsetof(GuestRegs, r15) == 112 && sizeof(GuestRegs) == 120);

enum class RunResult : u32 { Exited = 0, FailInvalid = 1, FailValid = 2 };

} // namespace keel::vmx

extern "C" keel::u32 vmx_run(keel::vmx::GuestRegs* regs, keel::u32 launched);
extern "C" char vmx_exit_entry[];
