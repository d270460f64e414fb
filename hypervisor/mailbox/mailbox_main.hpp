// The boot core's controller loop (docs/mailbox.md §8). mailbox_discover() finds the
// ivshmem-class device (PCI 1af4:1110) on the ECAM bus, sizes and places its BARs,
// checks the shared-memory BAR and maps it; mailbox_run() then serves commands forever.
#pragma once

#include "hypervisor/boot_info.hpp"
#include "hypervisor/platform.hpp"

namespace keel {

// True when a usable mailbox was found and mapped (it then says "mailbox: ready").
bool mailbox_discover(const BootInfo& info, const Platform& platform);
[[noreturn]] void mailbox_run(u64 cores_online, u32 boot_cpu);
// Guest serial output for the VM's console-out ring; a no-op without a mailbox.
void mailbox_console_out(u32 vm_id, const char* bytes, usize len);

} // namespace keel
