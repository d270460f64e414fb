// Value types shared by the VM manager, its clients and the arch's VM code: how a VM
// ended, its counters, what it boots, and where its console output goes. No arch here.
#pragma once

#include <string.h>

#include "hypervisor/types.hpp"

namespace keel {

enum class VmEnd : u32 { None = 0, GuestPowerOff, GuestReset, Fault, ControllerStop };
const char* vm_end_name(VmEnd e);

// Counters any of the VM's cores may bump at once: update them with stat_inc().
struct VmStats {
    u32 exits = 0;
    u32 console_lines = 0;
    u32 aborts_injected = 0;
    u32 hypercalls = 0;
    u32 dma_faults = 0; // IOMMU faults of its assigned devices (counted on the boot core)
    u32 irq_exits = 0;  // of `exits`: a physical interrupt took the core out of the guest
    u32 msis = 0;       // MSIs of its assigned devices raised in its virtual interrupt controller
    // Counter ticks (arm64: CNTPCT) its vCPUs spent in the hypervisor's exit handling, from
    // the return of the world switch to the flush before the next entry; 0 where not counted.
    u64 handling_ticks = 0;
};

// Relaxed atomic increment: a statistic orders nothing, but must not lose counts when
// two vCPUs of the VM exit at once.
inline void stat_inc(u32& counter) { __atomic_fetch_add(&counter, 1u, __ATOMIC_RELAXED); }

// What a VM boots, fixed by its client before START and never read back out of guest
// memory. The kernel part is loaded at RAM offset 0; the initrd at `initrd_offset`.
//   Raw:   entry at the start of RAM with the raw-guest boot registers (docs/vm-lifecycle.md:
//          arm64 x0..x3 / x86 rdi, rsi, rdx, rcx = VM id, RAM base, RAM size, `raw_mode`).
//   Linux: the arch's Linux boot protocol (arm64 Image + generated DTB).
enum class GuestKind : u32 { Raw = 0, Linux = 1 };

struct GuestImage {
    // The kernel's first bytes the arch reads its boot header from (x86: the bzImage setup
    // header ends before 0x280).
    static constexpr usize kHeadBytes = 0x280;
    static constexpr usize kCmdlineMax = 256;
    // Byte arrays are cleared with memset, not a `= {}` initializer: freestanding clang
    // (no library calls allowed) turns that into a one-byte-a-time loop, which cost every
    // arm64 boot about 14 k instructions once the Vm slots grew (docs/performance.md).
    GuestImage() { memset(cmdline, 0, sizeof cmdline); }
    GuestKind kind = GuestKind::Raw;
    u64 kernel_bytes = 0;
    u64 initrd_offset = 0;
    u64 initrd_bytes = 0;
    u32 raw_mode = 0;
    char cmdline[kCmdlineMax];
};

// Where guest console output goes besides the hypervisor console (the mailbox's console
// rings). Called on the VM's own cores; must not block.
class ConsoleSink {
public:
    virtual void out(u32 vm_id, const char* bytes, usize len) = 0;

protected:
    ~ConsoleSink() = default;
};

} // namespace keel
