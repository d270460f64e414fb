// The VM interface every arch implements (arm64, x86_64, and fake for host tests),
// reached only through <arch/vm.hpp>, which first defines the arch's VmContext (the
// state embedded by value in each keel::Vm) and its guest-platform constants. The VM
// manager (hypervisor/vm/vm_manager.hpp) is the only caller; each call runs on the boot
// core under the manager's lock, except where it says otherwise.
#pragma once

#include "hypervisor/mm/frame_pool.hpp"
#include "hypervisor/status.hpp"
#include "hypervisor/update/handover.hpp"
#include "hypervisor/vm/vm_types.hpp"

namespace keel {
struct Vm;
}

namespace keel::arch {

// Zeroes pool memory through a transient mapping (the pool is otherwise unmapped).
mm::Scrubber& pool_scrubber();

// Whether the arch zeroes a VM's RAM itself, each 2 MiB block before anything can read
// it (on the guest's first touch or the loader's first write; arm64): then the manager
// takes the memory unzeroed (mm::Zeroing::ByOwner). Otherwise the pool zeroes it all at
// allocation. Either way the pool scrubs it when the VM gives it back.
[[nodiscard]] bool vm_zeroes_ram_on_first_use();
// Builds the VM's second stage over vm.mem_base/mem_size at kGuestRamBase and its vCPUs
// (one per core of vm.cpu_mask); no guest state yet. On failure nothing remains.
[[nodiscard]] Status vm_create(Vm& vm);
// Live update's incoming image (docs/handover.md §4 step 4): the VM's arch state from the
// record `r` instead of building it (second stage taken over in place, vCPUs and interrupt
// state as recorded); vm's id, cores and memory are the manager's, already adopted. NotFound
// when the record has no such VM, Unsupported where the arch adopts nothing, another error
// when the record does not fit this VM (nothing of it may be used then).
[[nodiscard]] Status vm_adopt(Vm& vm, const update::HandoverView& r);
// Copies bytes into the VM's RAM at `offset` (bounds checked by the manager).
[[nodiscard]] Status vm_write(Vm& vm, u64 offset, const void* src, u64 len);
// Copies host-physical memory outside the hypervisor's mappings (a guest source the
// firmware's loader left in RAM) into the VM's RAM at `offset`.
[[nodiscard]] Status vm_copy_host(Vm& vm, u64 offset, PhysAddr src, u64 len);
// Reads host-physical memory outside the hypervisor's mappings.
[[nodiscard]] Status read_host(PhysAddr src, void* out, u64 len);
// What a kernel whose first bytes are `head` is: Raw when it has no header this arch
// boots, Linux when it has a valid one; an error when the header is there but unusable.
[[nodiscard]] Result<GuestKind> detect_kernel(const u8* head, usize len);
// Bytes a Linux kernel occupies from its load address (its header's own figure).
[[nodiscard]] Result<u64> kernel_extent(const u8* head, usize len);
// Sets vCPU 0's boot state from vm.image and vm.kernel_head (the Linux boot protocol,
// or the raw-guest registers) and the VM's devices (console input: vm.initial_input).
[[nodiscard]] Status vm_prepare(Vm& vm);
// Hands vCPU 0 to vm.first_cpu and returns. When the last vCPU leaves, its core calls
// vm.report_end() and wakes the boot core (send_event).
[[nodiscard]] Status vm_start(Vm& vm);
// Asks every vCPU to leave at its next exit; the end arrives through report_end.
void vm_request_stop(Vm& vm, VmEnd why);
// No vCPU of the VM runs (it ended, or never started): frees its second stage and
// drops every TLB entry that could still translate into its memory.
void vm_destroy(Vm& vm);
// Assigned devices (issue 13, docs/sriov.md "Assignment"). Every byte of the VM's RAM
// zeroed and mapped now, because a device is about to DMA into it (an arch that zeroes a
// block on first use would otherwise zero it later, over what the device wrote).
[[nodiscard]] Status vm_ram_for_dma(Vm& vm);
// Maps device registers (a VF's BAR) into the VM's second stage at `ipa`, inside
// [kGuestPciWindow, +kGuestPciWindowSize): device memory, read/write, never executable.
// Unsupported where the arch assigns no devices yet (x86_64).
[[nodiscard]] Status vm_map_device(Vm& vm, GuestPhys ipa, PhysAddr pa, u64 size);
// Removes such a mapping and drops every TLB entry for it, on every core (its vCPUs may run:
// hot-plug removal): when it returns, no vCPU of the VM reaches the range any more.
void vm_unmap_device(Vm& vm, GuestPhys ipa, u64 size);
// MSIs of assigned devices (docs/sriov.md "MSI-X"). The host side: device `device_id`'s
// (the platform's MSI device ID, Platform::pci_route; where kMsiDeviceIsRequesterId, the
// function's requester ID) events 0..vectors-1 become interrupts
// Keel owns; *doorbell is the physical address the device writes event IDs to, *first the
// token of event 0 (the rest follow). Unsupported where the arch has no MSI controller
// Keel drives. Boot core only.
[[nodiscard]] Status msi_map(u32 device_id, u32 vectors, u64* doorbell, u32* first);
void msi_unmap(u32 device_id);
// The next MSI token that arrived (acknowledged), 0 if none. Boot core only.
u32 msi_next();
// Where the MSI controller keeps its tables (kMsiMemoryBytes at kMsiMemoryAlign, memory the
// hypervisor owns, identity mapped; a live update's I/O region, docs/handover.md §1.1, so they
// outlive the image): before the first msi_map. Without it the image's own memory is used.
void msi_use_memory(u8* at);
// A live update (docs/handover.md §2.2 Io): the MSI controller's state into the record (its
// msi_* fields), and, in the incoming image, taken from it with the tables where they are
// (nothing written to the controller). Corrupt when the controller does not match the record.
// Busy (the Apply is refused, every vCPU resumes) while messages the controller delivered are
// still waiting to be handed to their VMs (arm64 bench mode: LPIs the boot core's vCPU loop
// took), which the record does not carry.
[[nodiscard]] Status msi_describe(update::IoRecord& r);
[[nodiscard]] Status msi_adopt(const update::IoRecord& r);
// The guest side. Whether a message the guest programmed (address, data) reaches its
// interrupt controller: true with *intid, what vm_raise_msi raises for it (arm64: a write
// of an SPI in [kGuestMsiFirst, +kGuestMsiCount) to its MSI frame, kGuestMsiDoorbell;
// x86_64: a fixed or lowest-priority message to the local APICs' range 0xfeexxxxx, with a
// vector from 16: the vector, mode and destination packed, virt/vm_msi.cpp).
[[nodiscard]] bool guest_msi(u64 address, u32 data, u32* intid);
// Raises what guest_msi accepted, on the VM's virtual interrupt controller.
void vm_raise_msi(Vm& vm, u32 intid);
// Presses the VM's power button (the polite phase of a controller STOP): the guest may
// power itself off. Unsupported where the arch emulates none yet (x86_64: needs ACPI).
[[nodiscard]] Status vm_power_button(Vm& vm);
// Queues console input for a running VM's UART; returns the bytes taken.
usize vm_console_input(Vm& vm, const char* data, usize len);

} // namespace keel::arch
