// Per-VM consoles through the mailbox (docs/mailbox.md §6).
//
// Out: guest UART output is taken on the guest's own core (the UART emulation's TX
// path calls mailbox_console_out) into a private 4 KiB mirror per VM, never touching
// shared memory there and never waiting. The boot core copies new bytes into the VM's
// shared console-out ring at each poll and only then publishes console_out_prod[i], so
// shared memory is written at one defined moment, by one core. Policy: lossy, drop
// oldest — a controller (or flush) that falls more than 4 KiB behind loses the oldest
// bytes, as a UART with nobody reading would; guest progress never depends on the
// controller. (The audit log is the opposite: never overwritten.)
//
// In: bytes arrive inside signed CONSOLE_WRITE commands into a private 1 KiB queue per
// VM (a write that does not fit whole is refused Busy: nothing dropped silently), and
// each poll feeds them one at a time to the arch UART receive queue through
// arch::vm_console_input(vm_id, byte) until it reports Busy (RX FIFO full).
#pragma once

#include "hypervisor/mailbox/abi.hpp"
#include "hypervisor/mailbox/shared.hpp"
#include "hypervisor/status.hpp"
#include "hypervisor/update/handover.hpp"

namespace keel::mailbox {

constexpr u32 kConsoleInBytes = 1024;

// Feeds one byte to the VM's UART receive side: Ok, Busy (full: try later), anything
// else (Unsupported, NotFound) ends input for that VM. A seam for host tests.
using ConsoleSink = Status (*)(void* ctx, u32 vm_id, u8 byte);

class ConsoleRings {
public:
    // Any core; callers for one VM are serialised by that VM's UART lock. Bounded work
    // (len bytes into the mirror), no locks taken, no shared memory touched.
    void out(u32 vm_id, const char* bytes, usize len);
    // Boot core: copies what arrived since the last flush into shared memory, then
    // publishes the producer indices.
    void flush(SharedRegion& region);
    // Boot core: queues a whole CONSOLE_WRITE; Busy when it does not fit.
    Status queue_in(u32 vm_id, const u8* bytes, u32 len);
    // Boot core: feeds queued input; returns the sink's verdict for the first byte it
    // could not take (Ok when the queue emptied). Non-Busy errors drop the queue.
    Status feed_in(u32 vm_id, ConsoleSink sink, void* ctx);
    // Drops queued input (the VM stopped or was destroyed).
    void clear_in(u32 vm_id);
    [[nodiscard]] u32 queued_in(u32 vm_id) const { return in_[vm_id - 1].count; }
    // Output bytes seen for the VM so far (any core; for "first output" timing).
    [[nodiscard]] u32 out_count(u32 vm_id) const {
        return __atomic_load_n(&out_[vm_id - 1].prod, __ATOMIC_ACQUIRE);
    }

    // Boot core, every guest core parked (a live update): the VM's rings as they stand
    // (docs/handover.md §2.2 Console; the input queue from its head).
    void describe(u32 vm_id, update::ConsoleRecord& out) const;
    // The incoming image, before any guest core runs on it: the rings `describe` wrote
    // (docs/handover.md §4 step 4). InvalidArgument for a VM id out of range, more input than
    // the queue holds or more published than written; nothing changes then.
    [[nodiscard]] Status adopt(const update::ConsoleRecord& in);

private:
    struct Out {
        u8 buf[kConsoleOutBytes];
        u32 prod;      // written by the guest's core (release), read by the boot core
        u32 published; // boot core only
    };
    struct In {
        u8 buf[kConsoleInBytes];
        u32 head, count;
    };
    Out out_[kMaxVms] = {};
    In in_[kMaxVms] = {};
};

} // namespace keel::mailbox
