// What the mailbox needs from the arch (arm64: arch/arm64/mailbox_arm64.cpp). Weak
// fallbacks in arch_mailbox_fallback.cpp report "no mailbox" so other arches link.
#pragma once

#include "drivers/pci/bar_place.hpp"
#include "hypervisor/boot_info.hpp"
#include "hypervisor/vm/vm.hpp"

namespace keel::arch {

// Identity-maps device memory (ECAM, the BAR) for the hypervisor, read-write, never executable.
Status mailbox_map_device(u64 addr, u64 size);
// The host bridge's memory windows (DTB "ranges"); returns how many were written.
u32 pci_windows(const BootInfo& info, pci::Window* out, u32 max);
// Exclusive upper bound of what mailbox_map_device can map (arm64: the 39-bit VA).
u64 mailbox_addr_limit();
// 16 fresh bytes for the per-boot nonce (a hardware RNG where there is one).
void mailbox_nonce(u8 (&out)[16]);
u64 now_ms();
// Copies bytes into the VM's RAM at `offset` (the VM is created, not running).
Status vm_load_bytes(Vm& vm, u64 offset, const void* src, u64 len);
// Tears down a VM that was created but never started (ends in keel::vm_stopped()).
Status vm_discard(Vm& vm);
// Sets the created VM up to run what the controller loaded (kernel at RAM offset 0,
// `kernel_bytes` long; initrd at `initrd_offset`, `initrd_bytes` long), booted with
// `cmdline`. arm64: an arm64 Linux Image gets a device tree and the Linux boot registers;
// anything else keeps vm_create's test-guest registers. Called once, right before vm_start.
Status vm_prepare_boot(Vm& vm, u64 kernel_bytes, u64 initrd_offset, u64 initrd_bytes,
                       const char* cmdline);
// Asks a running guest to power off (power-button style), or ends it now; the end
// arrives later through keel::vm_stopped() (docs/vm-lifecycle.md "STOP").
Status vm_stop(Vm& vm, bool forced);
// One byte of controller input for the UART receive queue of mailbox VM `vm_id`
// (1..kMaxVms; keel::controlled_vm() finds its Vm): Ok, Busy while the queue is full
// (the mailbox retries next poll), Unsupported where there is no receive path yet.
Status vm_console_input(u32 vm_id, u8 byte);

} // namespace keel::arch
