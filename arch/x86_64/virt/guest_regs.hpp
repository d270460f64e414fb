// What the world switches (vmx/entry.S, svm/entry.S) share with C++: the guest GPRs.
// VMX keeps RSP in the VMCS; SVM keeps RAX and RSP in the VMCB (svm/vcpu_run.cpp copies
// RAX between the two around each VMRUN).
#pragma once

#include <stddef.h>

#include "hypervisor/types.hpp"

namespace keel::virt {

struct GuestRegs {
    u64 rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
    // vmx/entry.S's fast path (docs/performance.md, x86): with `fast_stop` set, a VMCALL
    // Null (EAX 0) and a CPUID leaf 0 are answered before any C code runs, while the VM's
    // stop flag is clear. Null (a first-light test VM's registers): every exit takes the
    // general path. Set by vmx::fast_path_setup from the same code the general path runs,
    // so both answer alike. SVM has no fast path (every exit goes through C).
    const u32* fast_stop; // the VM's stop flag
    u32* fast_hypercalls; // the VM's hypercall counter (VmStats::hypercalls)
    u32 cpuid0[4];        // CPUID leaf 0 as this vCPU sees it: EAX, EBX, ECX, EDX
};
// The world switches' R_* offsets.
static_assert(offsetof(GuestRegs, rax) == 0 && offsetof(GuestRegs, rbx) == 8);
static_assert(offsetof(GuestRegs, rcx) == 16 && offsetof(GuestRegs, rdx) == 24);
static_assert(offsetof(GuestRegs, rsi) == 32 && offsetof(GuestRegs, rdi) == 40);
static_assert(offsetof(GuestRegs, rbp) == 48 && offsetof(GuestRegs, r8) == 56);
static_assert(offsetof(GuestRegs, r15) == 112 && offsetof(GuestRegs, fast_stop) == 120);
static_assert(offsetof(GuestRegs, fast_hypercalls) == 128 && offsetof(GuestRegs, cpuid0) == 136);

} // namespace keel::virt
