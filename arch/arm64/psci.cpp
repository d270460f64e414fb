#include "psci.hpp"

namespace keel::arm64 {
namespace {
// QEMU virt with virtualization=on names "smc"; used until the DTB is read.
PsciConduit g_conduit = PsciConduit::Smc;
} // namespace

void psci_set_conduit(PsciConduit conduit) { g_conduit = conduit; }

u64 psci_call(u64 fn, u64 a1, u64 a2, u64 a3) {
    register u64 x0 asm("x0") = fn;
    register u64 x1 asm("x1") = a1;
    register u64 x2 asm("x2") = a2;
    register u64 x3 asm("x3") = a3;
    // SMCCC: x0-x17 may be clobbered by the callee.
    if (g_conduit == PsciConduit::Hvc)
        asm volatile("hvc #0"
                     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
                     :
                     : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15",
                       "x16", "x17", "memory");
    else
        asm volatile("smc #0"
                     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
                     :
                     : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15",
                       "x16", "x17", "memory");
    return x0;
}

void psci_system_off() { psci_call(kPsciSystemOff); }

} // namespace keel::arm64
