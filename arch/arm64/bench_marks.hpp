// Boot-path time stamps for the boot benchmark (docs/performance.md, arm64): the
// physical counter at a few points of the boot core's path. Under QEMU
// `-icount shift=0` one tick is 16 instructions, so differences are instruction counts.
// Printed only in bench mode (smp.cpp run_local_work); recording costs two instructions.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::arm64 {

enum class BootMark : u32 {
    BootMain,      // arm64_boot_main entered (.bss zeroed, stack set)
    MmuOn,         // EL2 MMU on, console mapped
    PlatformDone,  // discover_platform returned: next comes print_platform
    FeaturesStart, // report_features entered (the crypto self-check runs once a VM has started)
    Count
};

inline u64 g_boot_marks[static_cast<u32>(BootMark::Count)];

inline void boot_mark(BootMark m) {
    u64 c;
    asm volatile("isb\n mrs %0, cntpct_el0" : "=r"(c)::"memory");
    g_boot_marks[static_cast<u32>(m)] = c;
}

} // namespace keel::arm64
