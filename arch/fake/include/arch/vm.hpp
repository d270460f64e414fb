// The fake arch's VMs, for host tests: nothing runs; the context records what the VM
// manager asked for (second-stage maps, bytes loaded, boot state, starts, stops), and a
// test plays the guest (fake_vm.hpp: power off, fault, reset).
#pragma once

#include "hypervisor/types.hpp"
#include "hypervisor/vm/vm_types.hpp"

namespace keel::arch {

struct FakeVmContext {
    bool created = false;
    bool stage2_live = false; // mapped RAM (kGuestRamBase -> mem_base) until vm_destroy
    u64 stage2_base = 0, stage2_size = 0;
    u32 vcpus = 0;
    u64 bytes_loaded = 0;
    u8 ram_head[256] = {}; // the first bytes of guest RAM, as loaded
    bool prepared = false;
    u64 boot_regs[4] = {}; // vCPU 0's first four argument registers after vm_prepare
    u32 starts = 0;
    u32 stop_requests = 0;
    bool running = false; // started, end not yet reported
    u64 console_in = 0;   // bytes queued for the guest
    u32 button_presses = 0;
    bool obeys_button = false; // the fake guest powers off when its power button is pressed
    bool ram_for_dma = false;  // vm_ram_for_dma was called
    u64 device_ipa = 0, device_pa = 0, device_size = 0; // the last device mapping (0: none)
};

using VmContext = FakeVmContext;
inline constexpr GuestPhys kGuestRamBase{0x40000000};
inline GuestPhys guest_ram_base(const VmContext&) { return kGuestRamBase; }
inline constexpr GuestPhys kGuestPciWindow{0x10000000};
inline constexpr u64 kGuestPciWindowSize = 4 * MiB;
// As arm64: VFs are assigned to VMs (host tests of hypervisor/io/).
inline constexpr bool kAssignsVfs = true;
// The MSI controller names a device by the platform's ITS device ID (Platform::pci_route);
// the MSI doorbell is a page the device writes, so its DMA map must include it.
inline constexpr bool kMsiDeviceIsRequesterId = false;
inline constexpr bool kMsiDoorbellInDmaMap = true;
// How the console names an assigned VF's MSI route (hypervisor/io/vm_vfs.cpp).
inline constexpr const char* kMsiDeviceName = "ITS device";
// What the console calls the MSI controller (a live update's "I/O adopted" line).
inline constexpr const char* kMsiControllerName = "ITS";
inline constexpr const char* kMsiTokenName = "LPIs";
inline constexpr const char* kGuestMsiTarget = "guest frame SPIs 48..63";
inline constexpr u64 kGuestMsiDoorbell = 0x08020040;
inline constexpr u32 kGuestMsiFirst = 48;
inline constexpr u32 kGuestMsiCount = 16;
inline constexpr u64 kMsiMemoryBytes = 0;
inline constexpr u64 kMsiMemoryAlign = 8;
inline constexpr bool kConsoleInput = true;

} // namespace keel::arch

#include "arch/vm_interface.hpp"
