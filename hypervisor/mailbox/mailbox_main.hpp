// The boot core's controller loop (docs/mailbox.md §8). mailbox_discover() finds the
// ivshmem-class device (PCI 1af4:1110) on the ECAM bus, sizes and places its BARs,
// checks the shared-memory BAR and maps it; mailbox_run() then serves commands forever.
#pragma once

#include "hypervisor/boot_info.hpp"
#include "hypervisor/cmdline.hpp"
#include "hypervisor/mailbox/session.hpp"
#include "hypervisor/platform.hpp"
#include "hypervisor/update/handover.hpp"

namespace keel {

// True when a usable mailbox was found and mapped (it then says "mailbox: ready").
bool mailbox_discover(const BootInfo& info, const Platform& platform);
// Serves the controller through the VM manager (vm_control.hpp); guest console output
// reaches the mailbox's console rings through the manager's console sink.
// `yield_between_polls` (bench mode, `keel.bench`): the boot core yields after each poll, so
// an emulator that runs every core on one thread (QEMU -icount) runs the others.
// `limits`: how long a session lasts (docs/mailbox.md §4.2). `platform` is what PLATFORM
// describes (kept: it must outlive the loop); `cmdline` Keel's command line (kept too: a live
// update hands it to the incoming image).
[[noreturn]] void mailbox_run(const Platform& platform, u64 cores_online, u32 boot_cpu,
                              bool yield_between_polls, mailbox::SessionLimits limits,
                              const char* cmdline);
// A live update's incoming image once every vCPU is back in its guest (docs/handover.md §4
// steps 4-6): the mailbox continued from the record instead of attached (the session, the
// consoles, the audit chain), the Apply answered, the update committed (the floor raised,
// the outgoing image's memory back in the pool, a new update region), then served like
// mailbox_run. `healthy`: every vCPU re-entered; otherwise nothing is answered.
[[noreturn]] void mailbox_continue(const update::HandoverView& record, const Platform& platform,
                                   u64 cores_online, u32 boot_cpu, const char* cmdline,
                                   bool healthy, u64 blackout_ns);
// The session limits from the command line: keel.session_commands=N and
// keel.session_ms=N (for tests of expiry; defaults: mailbox::SessionLimits).
mailbox::SessionLimits mailbox_session_limits(const Cmdline& cmdline);

} // namespace keel
