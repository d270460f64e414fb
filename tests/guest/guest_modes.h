// The test guests' modes: x3 (arm64) / RCX (x86_64) at entry, the values of the hypervisor's
// GuestMode (hypervisor/vm/vm_def.hpp, `guest:` in docs/vm-definitions.md). A guest runs the
// modes it does not implement as basic.
#pragma once

enum {
    MODE_BASIC = 0,
    MODE_WILD = 1,
    MODE_BENCH = 2,
    MODE_REGFILL = 3,
    MODE_REGCHECK = 4,
    MODE_FETCH = 5,   // arm64: branch outside its RAM, report the instruction abort
    MODE_PTIMER = 6,  // arm64: EL1 physical timer through the vGIC
    MODE_DEBUG = 7,   // arm64: hardware breakpoint and watchpoint
    MODE_BUTTON = 8,  // arm64: wait for the power button, then power off
    MODE_DEAF = 9,    // ignore everything (arm64: the power button included)
    MODE_SCAN = 10,   // arm64: every word of RAM outside the image
    MODE_MMIO = 11,   // x86_64: every vCPU hammers the scratch MMIO page
    MODE_VMRUN = 12,  // x86_64: execute VMRUN (a hostile exit)
    MODE_TRIPLE = 13, // x86_64: triple fault (no usable IDT)
    MODE_RESET = 14,  // x86_64: a wrong-type S5 write (ignored), then reset through 0xcf9
    MODE_NVME = 15,   // its assigned NVMe VF (docs/sriov.md), then a DMA outside its RAM
    MODE_GAPS = 16,   // the longest gap of its counter (x86_64: TSC), on request (live update)
};
