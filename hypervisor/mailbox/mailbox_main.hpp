// The boot core's controller loop (docs/mailbox.md §8). mailbox_discover() finds the
// ivshmem-class device (PCI 1af4:1110) on the ECAM bus, sizes and places its BARs,
// checks the shared-memory BAR and maps it; mailbox_run() then serves commands forever.
#pragma once

#include "hypervisor/boot_info.hpp"
#include "hypervisor/cmdline.hpp"
#include "hypervisor/mailbox/session.hpp"
#include "hypervisor/platform.hpp"

namespace keel {

// True when a usable mailbox was found and mapped (it then says "mailbox: ready").
bool mailbox_discover(const BootInfo& info, const Platform& platform);
// Serves the controller through the VM manager (vm_control.hpp); guest console output
// reaches the mailbox's console rings through the manager's console sink.
// `yield_between_polls` (bench mode, `keel.bench`): the boot core yields after each poll, so
// an emulator that runs every core on one thread (QEMU -icount) runs the others.
// `limits`: how long a session lasts (docs/mailbox.md §4.2). `platform` is what PLATFORM
// describes (kept: it must outlive the loop).
[[noreturn]] void mailbox_run(const Platform& platform, u64 cores_online, u32 boot_cpu,
                              bool yield_between_polls, mailbox::SessionLimits limits);
// The session limits from the command line: keel.session_commands=N and
// keel.session_ms=N (for tests of expiry; defaults: mailbox::SessionLimits).
mailbox::SessionLimits mailbox_session_limits(const Cmdline& cmdline);

} // namespace keel
