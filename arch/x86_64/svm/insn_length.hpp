// Without NRIPS (QEMU's SVM: shared/PLATFORMS.md) an intercepted instruction's exit
// gives no next RIP (APM Vol. 2 15.7.1: nRIP only with NRIPS): the hypervisor fetches the
// bytes at the guest RIP and decodes the instruction itself (its plain encoding, else Zydis),
// checking it is the one the exit names (any prefix combination the CPU accepted included). Pure
// logic; host-tested (tests/unit/svm_insn_length_test.cpp).
#pragma once

#include "../virt/mmio_decode.hpp"
#include "hypervisor/status.hpp"

namespace keel::svm {

enum class Intercepted : u8 { Cpuid, Rdmsr, Wrmsr, Hlt, Vmmcall, Xsetbv, Pause };

// The instruction's length, or Corrupt when the bytes do not decode to `what` (the
// guest rewrote them after the exit from another vCPU, or they could not be fetched).
Result<u8> intercepted_length(const u8* bytes, usize len, virt::CpuMode mode, Intercepted what);

// MOV to CR4 (0F 22 /r with reg = 4), intercepted without decode assists (EXITINFO1
// names no register then: 15.8.1): the source register (architectural number) and the
// instruction's length; Corrupt for anything else.
struct CrWrite {
    u8 gpr;
    u8 length;
};
Result<CrWrite> decode_cr4_write(const u8* bytes, usize len, virt::CpuMode mode);

} // namespace keel::svm
